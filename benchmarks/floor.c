/* The floor for `kcheck preflight`: reading, in one process, every file the profile reads on
   this node (the list benchmarks/run.sh makes from a snapshot of it, one absolute path a line),
   and nothing else. Built by benchmarks/run.sh with the system's cc.
     floor LIST */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: floor LIST\n");
        return 2;
    }
    FILE *list = fopen(argv[1], "r");
    if (!list) {
        perror(argv[1]);
        return 2;
    }
    static char path[4096], buffer[1 << 16];
    long files = 0, bytes = 0;
    while (fgets(path, sizeof path, list)) {
        path[strcspn(path, "\n")] = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0) continue;
        ssize_t n;
        while ((n = read(fd, buffer, sizeof buffer)) > 0) bytes += n;
        close(fd);
        files++;
    }
    fclose(list);
    if (getenv("FLOOR_VERBOSE")) printf("%ld files, %ld bytes\n", files, bytes);
    return 0;
}
