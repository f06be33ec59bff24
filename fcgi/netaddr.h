/* IP addresses and CIDR lists (IPv4 and IPv6): allowlists and trusted proxies. */
#ifndef RS_NETADDR_H
#define RS_NETADDR_H
int cidr_valid(const char *cidr);                      /* "10.0.0.0/8", "::1/128", "1.2.3.4" */
int cidr_match(const char *ip, const char *cidr);      /* 1 if ip is inside */
int cidr_list_match(const char *ip, const char *list); /* comma/space separated; empty list -> 0 */
/* Client IP: the socket peer, unless the peer is a trusted proxy: then the right-most untrusted
 * X-Forwarded-For entry. Result written to out. */
void client_ip_resolve(const char *peer, const char *xff, const char *trusted, char *out, int outlen);
#endif
