/* A stand-in for one of the guide's component binaries in the test bed's running-cluster phase
 * (docs/testbed.md): the guide's own binaries (Kubernetes 1.16, etcd 3.4) cannot be had here.
 * Installed under each component's name (/opt/k8s/bin/kube-apiserver, ...), it listens on every
 * TCP ADDRESS:PORT listed in $STUB_LISTEN (space-separated, IPv4) as that component does with
 * the guide's flags, then waits for a signal. It never reads its own arguments: the rules judge
 * the unit's ExecStart and the configuration files, and the sockets; the stub makes the sockets.
 * For kube-nginx (a Type=forking unit): an argument `-t` (nginx's configuration test) exits 0 at
 * once, and with $STUB_FORK set it forks once its sockets listen, the parent exiting as nginx's
 * does. For etcd (Type=notify): once its sockets listen it tells systemd READY=1 on
 * $NOTIFY_SOCKET, as etcd does.
 * Built statically on the host: cc -static -Os -o stub testbed/stub.c */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* sd_notify(0, "READY=1") without libsystemd: one datagram to $NOTIFY_SOCKET (a path, or an
 * abstract socket when it starts with '@'). Nothing to do when systemd did not ask. */
static int notify_ready(void) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0') return 0;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    size_t length = strlen(path);
    if (length >= sizeof address.sun_path) return -1;
    memcpy(address.sun_path, path, length);
    if (address.sun_path[0] == '@') address.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    const char message[] = "READY=1";
    ssize_t sent = sendto(fd, message, sizeof message - 1, 0, (struct sockaddr *)&address,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length));
    close(fd);
    return sent < 0 ? -1 : 0;
}

/* The version strings of the guide's releases (item 29), as the real binaries hold them in their
 * data: kcheck's versions.* rules read them from the bytes, never by running the binary. One stub
 * stands in for every binary, so it holds them all. */
const char kcheck_stub_versions[] = "v1.16.6 3.4.3 v1.3.3 1.0.0-rc10 v1.17.0 nginx/1.15.3";

int main(int argc, char **argv) {
    /* Keep the strings in the binary whatever the optimiser thinks. */
    if (argc < 0) puts(kcheck_stub_versions);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-t") == 0) return 0;
    const char *spec = getenv("STUB_LISTEN");
    char buffer[4096];
    if (spec == NULL) spec = "";
    if (strlen(spec) >= sizeof buffer) {
        fprintf(stderr, "stub: STUB_LISTEN is too long\n");
        return 2;
    }
    strcpy(buffer, spec);
    for (char *save = NULL, *item = strtok_r(buffer, " ", &save); item != NULL; item = strtok_r(NULL, " ", &save)) {
        char *colon = strrchr(item, ':');
        if (colon == NULL) {
            fprintf(stderr, "stub: expected ADDRESS:PORT, found %s\n", item);
            return 2;
        }
        *colon = '\0';
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
        if (inet_pton(AF_INET, item, &address.sin_addr) != 1) {
            fprintf(stderr, "stub: not an IPv4 address: %s\n", item);
            return 2;
        }
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 16) != 0) {
            perror("stub: listen");
            return 1;
        }
    }
    if (notify_ready() != 0) perror("stub: notify");
    if (getenv("STUB_FORK") != NULL) {
        pid_t child = fork();
        if (child < 0) {
            perror("stub: fork");
            return 1;
        }
        if (child > 0) return 0;
        setsid();
    }
    for (;;) pause();
}
