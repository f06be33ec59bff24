/* Caption conversion: SRT "00:00:01,000 --> 00:00:02,500" cues become WebVTT; VTT is checked and normalised.
 * Input is untrusted: it must be UTF-8 text, have at least one cue, and stay under a size limit. */
#include "video_srt.h"
#include <ctype.h>
#include <string.h>

int video_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	while (p < e) {
		unsigned c = *p;
		int k;
		if (c == 0) return 0;
		if (c < 0x80) { p++; continue; }
		if (c >= 0xC2 && c <= 0xDF) k = 1;
		else if (c >= 0xE0 && c <= 0xEF) k = 2;
		else if (c >= 0xF0 && c <= 0xF4) k = 3;
		else return 0;
		if (e - p <= k) return 0;
		unsigned cp = c & (0x3F >> k);
		for (int i = 1; i <= k; i++) {
			if ((p[i] & 0xC0) != 0x80) return 0;
			cp = cp << 6 | (p[i] & 0x3F);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		p += k + 1;
	}
	return 1;
}

/* "HH:MM:SS,mmm" or "MM:SS.mmm" (either separator); writes the VTT form. Returns chars consumed or 0. */
static size_t parse_ts(const char *s, buf *out)
{
	int f[4] = {0}, nf = 0;
	size_t i = 0;
	for (;;) {
		if (!isdigit((unsigned char)s[i])) return 0;
		int v = 0, d = 0;
		while (isdigit((unsigned char)s[i]) && d < 3) v = v * 10 + (s[i++] - '0'), d++;
		if (isdigit((unsigned char)s[i])) return 0;
		f[nf++] = v;
		if (s[i] == ':' && nf < 3) { i++; continue; }
		if ((s[i] == ',' || s[i] == '.') && nf >= 2) {
			i++;
			int ms = 0, md = 0;
			while (isdigit((unsigned char)s[i]) && md < 3) ms = ms * 10 + (s[i++] - '0'), md++;
			if (md == 0) return 0;
			while (md < 3) ms *= 10, md++;
			int h = nf == 3 ? f[0] : 0, m = f[nf - 2], sec = f[nf - 1];
			if (m > 59 || sec > 59) return 0;
			buf_printf(out, "%02d:%02d:%02d.%03d", h, m, sec, ms);
			return i;
		}
		return 0;
	}
}

/* A timing line: "<ts> --> <ts>[ settings]". Writes the VTT line; 1 if it was one. */
static int timing_line(const char *line, buf *out)
{
	buf t = {0};
	int ok = 0;
	size_t a = parse_ts(line, &t);
	if (!a) goto out;
	const char *p = line + a;
	while (*p == ' ' || *p == '\t') p++;
	if (strncmp(p, "-->", 3)) goto out;
	p += 3;
	while (*p == ' ' || *p == '\t') p++;
	buf_puts(&t, " --> ");
	size_t b = parse_ts(p, &t);
	if (!b) goto out;
	p += b;
	/* SRT position hints (X1:… Y1:…) are dropped; VTT cue settings are kept */
	if (*p == ' ' || *p == '\t') {
		while (*p == ' ' || *p == '\t') p++;
		if (*p && strncmp(p, "X1:", 3)) { buf_puts(&t, " "); buf_puts(&t, p); }
	} else if (*p) goto out;
	buf_append(out, t.p, t.len);
	ok = 1;
out:
	buf_free(&t);
	return ok;
}

int video_caption_to_vtt(const char *in, size_t n, buf *out, const char **err)
{
	if (n > VIDEO_CAPTION_MAX) { *err = "video_caption_too_large"; return -1; }
	if (n >= 3 && !memcmp(in, "\xEF\xBB\xBF", 3)) { in += 3; n -= 3; }
	if (!n || !video_utf8_valid(in, n)) { *err = "video_caption_not_text"; return -1; }
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') { *err = "video_caption_not_text"; return -1; }
	}
	int is_vtt = n >= 6 && !memcmp(in, "WEBVTT", 6) && (n == 6 || strchr(" \t\r\n", in[6]));
	int cues = 0, blank_run = 1, in_header = is_vtt;
	buf_puts(out, "WEBVTT\n\n");
	size_t i = 0;
	while (i < n) {
		size_t l = 0;
		while (i + l < n && in[i + l] != '\n' && in[i + l] != '\r') l++;
		char line[4096];
		size_t cl = l < sizeof line - 1 ? l : sizeof line - 1;
		memcpy(line, in + i, cl);
		line[cl] = 0;
		i += l;
		if (i < n && in[i] == '\r') i++;
		if (i < n && in[i] == '\n') i++;
		if (in_header) {   /* the WEBVTT header block ends at the first blank line */
			if (!cl) in_header = 0;
			continue;
		}
		if (!cl) {
			if (!blank_run) buf_puts(out, "\n");
			blank_run = 1;
			continue;
		}
		if (strstr(line, "-->")) {
			buf tl = {0};
			if (!timing_line(line, &tl)) { buf_free(&tl); *err = "video_caption_no_cues"; return -1; }
			buf_append(out, tl.p, tl.len);
			buf_puts(out, "\n");
			buf_free(&tl);
			cues++;
		} else if (blank_run && !is_vtt) {
			/* SRT cue number: kept as the VTT cue identifier only if it is all digits */
			int digits = 1;
			for (size_t k = 0; k < cl; k++) if (!isdigit((unsigned char)line[k])) digits = 0;
			if (!digits) { buf_puts(out, line); buf_puts(out, "\n"); }
		} else {
			/* "-->" may not appear in cue text; everything else is text the browser renders as text */
			buf_puts(out, line);
			buf_puts(out, "\n");
		}
		blank_run = 0;
	}
	if (!cues) { *err = "video_caption_no_cues"; return -1; }
	return 0;
}
