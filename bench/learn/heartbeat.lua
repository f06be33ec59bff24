-- wrk script: POST /api/v1/views/heartbeat with real bodies. Each beat is its own playback session (a signed
-- session id from sessions.txt, made by run.sh with the stack's secret), so every accepted beat leaves exactly one
-- view_sessions row of 11 s in PostgreSQL and the run can check that none was lost or counted twice.
-- sessions.txt lines: "<viewer index> <session id> <video public id>", tokens.txt: one bearer token per viewer;
-- thread t uses lines t, t+T, t+2T, ...
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  nthreads = tonumber(args[1]) or 2
  tokens = {}
  for line in io.lines(args[3] or "tokens.txt") do table.insert(tokens, line) end
  lines = {}
  local i = 0
  for line in io.lines(args[2] or "sessions.txt") do
    if i % nthreads == id - 1 then table.insert(lines, line) end
    i = i + 1
  end
  next_line = 1
  generated = 0
  accepted = 0
  rejected = 0
end

function request()
  local line = lines[next_line]
  if not line then
    -- out of sessions: a harmless GET keeps the connection busy; run.sh sizes the file so this is rare
    return wrk.format("GET", "/healthz")
  end
  next_line = next_line + 1
  generated = generated + 1
  local u, sess, vid = line:match("^(%S+) (%S+) (%S+)$")
  local tok = tokens[tonumber(u) + 1]
  local body = string.format('{"session":"%s","video":"%s","position":21.0,"rate":1.25,' ..
    '"ranges":[[0,5.0],[10.0,15.0],[20.0,21.0]]}', sess, vid)
  return wrk.format("POST", "/api/v1/views/heartbeat",
    { ["Authorization"] = "Bearer " .. tok, ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status == 202 then accepted = accepted + 1 elseif status ~= 200 then rejected = rejected + 1 end
end

function done(summary, latency, requests)
  local g, a, r = 0, 0, 0
  for _, t in ipairs(threads) do
    g = g + t:get("generated")
    a = a + t:get("accepted")
    r = r + t:get("rejected")
  end
  io.write(string.format("BEATS generated=%d accepted=%d rejected=%d\n", g, a, r))
end
