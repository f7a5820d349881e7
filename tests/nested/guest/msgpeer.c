/* msgpeer.c - guest side of the group message test (t72-group-messages.sh): numbered
 * UDP messages between guests over a dom0 bridge, and the check for orphan messages
 * (built static on the host by tools/nested/run.sh, in the guest as /usr/bin/xlcp-msgpeer).
 *
 * Usage: xlcp-msgpeer ID PORT STATFILE PEER_ID:IP...
 * Every 50 ms it sends the next message to the next peer in turn: "<ID> <seq>", seq
 * counting per peer from 1; it counts the message as sent (in memory) before it sends it.
 * For each peer it keeps the highest seq received from it. A message whose seq is not
 * above that highest one is a regression: on a bridge that neither duplicates nor reorders,
 * it happens only when the sender went back in time without the receiver, i.e. the
 * receiver holds a message its sender (restored from a checkpoint) does not remember
 * sending: an orphan message. Every 500 ms it rewrites STATFILE (write + rename):
 *     peer <id> sent <n> got <highest seq> count <messages received> regress <n> first <got>:<seq>
 * (first: the highest seq and the message's seq at the first regression, 0:0 if none).
 * Its state lives in its memory only, so a checkpoint of the guest captures it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PEERS 8

struct peer {
    int id;
    struct sockaddr_in addr;
    unsigned long sent, got, count, regress, first_got, first_seq;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_stat(const char *path, const struct peer *p, int n)
{
    char tmp[512];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f)
        return;
    for (int i = 0; i < n; i++)
        fprintf(f, "peer %d sent %lu got %lu count %lu regress %lu first %lu:%lu\n", p[i].id,
                p[i].sent, p[i].got, p[i].count, p[i].regress, p[i].first_got, p[i].first_seq);
    if (fclose(f) == 0)
        rename(tmp, path);
}

int main(int argc, char **argv)
{
    struct peer peers[MAX_PEERS];
    struct sockaddr_in me;
    int n = 0, fd, next = 0, id;
    double next_send, next_stat;

    if (argc < 5 || argc - 4 > MAX_PEERS) {
        fprintf(stderr, "usage: xlcp-msgpeer ID PORT STATFILE PEER_ID:IP... (at most %d)\n",
                MAX_PEERS);
        return 2;
    }
    id = atoi(argv[1]);
    memset(&me, 0, sizeof(me));
    me.sin_family = AF_INET;
    me.sin_port = htons((unsigned short)atoi(argv[2]));
    me.sin_addr.s_addr = htonl(INADDR_ANY);
    memset(peers, 0, sizeof(peers));
    for (int i = 4; i < argc; i++, n++) {
        char *colon = strchr(argv[i], ':');

        if (!colon || inet_pton(AF_INET, colon + 1, &peers[n].addr.sin_addr) != 1) {
            fprintf(stderr, "xlcp-msgpeer: bad peer '%s' (ID:IP)\n", argv[i]);
            return 2;
        }
        peers[n].id = atoi(argv[i]);
        peers[n].addr.sin_family = AF_INET;
        peers[n].addr.sin_port = me.sin_port;
    }
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0) {
        perror("xlcp-msgpeer: socket/bind");
        return 1;
    }
    next_send = next_stat = now_s();
    for (;;) {
        double t = now_s(), wait = next_send < next_stat ? next_send - t : next_stat - t;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, wait > 0 ? (int)(wait * 1000) + 1 : 0);

        if (r < 0 && errno != EINTR) {
            perror("xlcp-msgpeer: poll");
            return 1;
        }
        if (r > 0) {
            char buf[64];
            ssize_t len = recv(fd, buf, sizeof(buf) - 1, 0);
            int src;
            unsigned long seq;

            if (len > 0) {
                buf[len] = '\0';
                if (sscanf(buf, "%d %lu", &src, &seq) == 2)
                    for (int i = 0; i < n; i++) {
                        if (peers[i].id != src)
                            continue;
                        peers[i].count++;
                        if (seq <= peers[i].got) {
                            if (peers[i].regress++ == 0) {
                                peers[i].first_got = peers[i].got;
                                peers[i].first_seq = seq;
                            }
                        }
                        if (seq > peers[i].got)
                            peers[i].got = seq;
                    }
            }
        }
        t = now_s();
        if (t >= next_send) {
            struct peer *p = &peers[next];
            char msg[64];
            int len;

            p->sent++; /* remembered before it leaves */
            len = snprintf(msg, sizeof(msg), "%d %lu", id, p->sent);
            (void)sendto(fd, msg, (size_t)len, 0, (struct sockaddr *)&p->addr, sizeof(p->addr));
            next = (next + 1) % n;
            next_send += 0.05;
            if (next_send < t) /* after a stop: no burst of the missed rounds */
                next_send = t + 0.05;
        }
        if (t >= next_stat) {
            write_stat(argv[3], peers, n);
            next_stat = t + 0.5;
        }
    }
}
