/*
 * floor.c - the "physical floor" of the polyplex benchmark suite.
 *
 * Measures the suite's workloads (dispatch, scale, wakeup) with raw syscalls
 * (epoll, poll, select, eventfd, pipes) so that the Java numbers can be
 * expressed as ratios to what the kernel interface itself costs.
 *
 * Build: gcc -O2 -std=gnu11 -Wall -Wextra -pthread -o floor floor.c
 * Usage: floor [--time-ms N] [--rounds N] [--warmup-ms N]
 *              [--only dispatch|scale|wakeup] [--check-fds]
 *
 * Output (stdout), one line per measurement, tab-separated:
 *   workload  impl  param  mean  stddev  unit
 * mean and stddev (sample standard deviation, n-1; 0 for one round) are taken
 * over the per-round ns-per-unit values. A select measurement that would need
 * an fd >= FD_SETSIZE prints NaN NaN and "refused: ..." as its unit field.
 * Diagnostics go to stderr; any failure exits non-zero naming the call.
 *
 * Linux only for epoll and eventfd; those parts are compiled only under
 * __linux__, so the poll/select parts still build elsewhere.
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif

/* Check the clock only every BATCH iterations so that it does not dominate. */
#define BATCH 256
/* epoll_wait's maxevents. */
#define MAX_EVENTS 1024

/* ------------------------------------------------------------------ errors */

/* Prints "floor: <what> failed: <strerror(errno)>" and exits 1. */
__attribute__((noreturn, format(printf, 1, 2)))
static void die_errno(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    fputs("floor: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " failed: %s\n", strerror(saved));
    exit(1);
}

/* Prints "floor: <message>" and exits 1 (for failures without an errno). */
__attribute__((noreturn, format(printf, 1, 2)))
static void die_msg(const char *fmt, ...)
{
    va_list ap;
    fputs("floor: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        die_errno("calloc(%zu, %zu)", n, size);
    }
    return p;
}

static void xclose(int fd)
{
    /* On Linux the fd is released even if close reports an error; report it anyway. */
    if (close(fd) != 0) {
        die_errno("close(%d)", fd);
    }
}

/* ------------------------------------------------------------------ handler */

volatile unsigned long sink;

void handler(int fd, unsigned int events);

/* The per-event "handler": cheap, but the compiler may not drop or inline it. */
__attribute__((noinline)) void handler(int fd, unsigned int events)
{
    sink += (unsigned long)fd + events;
}

/* ------------------------------------------------------------------ clock */

static int64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        die_errno("clock_gettime(CLOCK_MONOTONIC)");
    }
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------ options */

static long opt_time_ms = 1000;
static long opt_rounds = 5;
static long opt_warmup_ms = 500;
static const char *opt_only = NULL;
static int opt_check_fds = 0;

static void usage(FILE *to)
{
    fputs("usage: floor [--time-ms N] [--rounds N] [--warmup-ms N] "
          "[--only dispatch|scale|wakeup] [--check-fds]\n"
          "  defaults: --time-ms 1000 --rounds 5 --warmup-ms 500\n", to);
}

static long parse_long(const char *opt, const char *s, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min) {
        fprintf(stderr, "floor: %s: invalid value '%s' (an integer >= %ld)\n", opt, s, min);
        usage(stderr);
        exit(2);
    }
    return v;
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--check-fds") == 0) {
            opt_check_fds = 1;
            continue;
        }
        const char *names[] = { "--time-ms", "--rounds", "--warmup-ms", "--only" };
        int which = -1;
        for (int k = 0; k < 4; k++) {
            if (strcmp(a, names[k]) == 0) {
                which = k;
            }
        }
        if (which < 0) {
            fprintf(stderr, "floor: unknown argument '%s'\n", a);
            usage(stderr);
            exit(2);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "floor: %s needs a value\n", a);
            usage(stderr);
            exit(2);
        }
        const char *v = argv[++i];
        switch (which) {
        case 0: opt_time_ms = parse_long(a, v, 1); break;
        case 1: opt_rounds = parse_long(a, v, 1); break;
        case 2: opt_warmup_ms = parse_long(a, v, 0); break;
        default:
            if (strcmp(v, "dispatch") != 0 && strcmp(v, "scale") != 0 && strcmp(v, "wakeup") != 0) {
                fprintf(stderr, "floor: --only: unknown workload '%s' (dispatch, scale or wakeup)\n", v);
                usage(stderr);
                exit(2);
            }
            opt_only = v;
            break;
        }
    }
}

static int selected(const char *workload)
{
    return opt_only == NULL || strcmp(opt_only, workload) == 0;
}

/* ------------------------------------------------------------------ measuring */

typedef void (*batch_fn)(void *ctx, long iters);

/*
 * Runs fn in batches of BATCH iterations until at least dur_ns have passed;
 * returns the ns per unit (units_per_iter units per iteration).
 */
static double run_timed(batch_fn fn, void *ctx, int64_t dur_ns, double units_per_iter)
{
    long iters = 0;
    int64_t start = now_ns(), elapsed;
    do {
        fn(ctx, BATCH);
        iters += BATCH;
        elapsed = now_ns() - start;
    } while (elapsed < dur_ns);
    return (double)elapsed / ((double)iters * units_per_iter);
}

/* Square root by Newton's method: the build command does not link libm. */
static double sqrt_newton(double x)
{
    if (!(x > 0)) {
        return 0.0;
    }
    double r = x >= 1 ? x : 1.0;
    for (int i = 0; i < 200; i++) {
        double next = 0.5 * (r + x / r);
        if (next >= r) {
            break;
        }
        r = next;
    }
    return r;
}

static void print_line(const char *workload, const char *impl, const char *param,
                       double mean, double sd, const char *unit)
{
    printf("%s\t%s\t%s\t%.2f\t%.2f\t%s\n", workload, impl, param, mean, sd, unit);
    fflush(stdout);
}

static void print_refused(const char *workload, const char *impl, const char *param, int fd)
{
    printf("%s\t%s\t%s\tNaN\tNaN\trefused: fd %d >= FD_SETSIZE %d\n",
           workload, impl, param, fd, (int)FD_SETSIZE);
    fflush(stdout);
}

/* Warmup, then opt_rounds timed rounds; prints the line. */
static void measure(const char *workload, const char *impl, const char *param, const char *unit,
                    batch_fn fn, void *ctx, double units_per_iter)
{
    double *v = xcalloc((size_t)opt_rounds, sizeof(double));
    if (opt_warmup_ms > 0) {
        (void)run_timed(fn, ctx, (int64_t)opt_warmup_ms * 1000000, units_per_iter);
    }
    for (long r = 0; r < opt_rounds; r++) {
        v[r] = run_timed(fn, ctx, (int64_t)opt_time_ms * 1000000, units_per_iter);
    }
    double sum = 0, sq = 0;
    for (long r = 0; r < opt_rounds; r++) {
        sum += v[r];
    }
    double mean = sum / (double)opt_rounds;
    for (long r = 0; r < opt_rounds; r++) {
        sq += (v[r] - mean) * (v[r] - mean);
    }
    double sd = opt_rounds > 1 ? sqrt_newton(sq / (double)(opt_rounds - 1)) : 0.0;
    free(v);
    print_line(workload, impl, param, mean, sd, unit);
}

/* ------------------------------------------------------------------ fd helpers */

/* A non-blocking, close-on-exec AF_UNIX stream socketpair. */
static int make_socketpair(int sv[2])
{
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
#else
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        if (fcntl(sv[i], F_SETFD, FD_CLOEXEC) != 0
            || fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK) != 0) {
            return -1;
        }
    }
    return 0;
#endif
}

/* A non-blocking, close-on-exec pipe. */
static int make_pipe(int p[2])
{
#ifdef __linux__
    return pipe2(p, O_CLOEXEC | O_NONBLOCK);
#else
    if (pipe(p) != 0) {
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        if (fcntl(p[i], F_SETFD, FD_CLOEXEC) != 0
            || fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK) != 0) {
            return -1;
        }
    }
    return 0;
#endif
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        die_errno("getrlimit(RLIMIT_NOFILE)");
    }
    if (rl.rlim_max == RLIM_INFINITY) {
        fprintf(stderr, "floor: RLIMIT_NOFILE hard limit is unlimited; keeping soft limit %llu\n",
                (unsigned long long)rl.rlim_cur);
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            die_errno("setrlimit(RLIMIT_NOFILE, soft=%llu)", (unsigned long long)rl.rlim_cur);
        }
    }
}

/* Entries in /proc/self/fd (including the one opendir uses while counting). */
static long count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        die_errno("opendir(/proc/self/fd)");
    }
    long n = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    if (errno != 0) {
        die_errno("readdir(/proc/self/fd)");
    }
    if (closedir(d) != 0) {
        die_errno("closedir(/proc/self/fd)");
    }
    return n;
}

/* ------------------------------------------------------------------ socket fixture */

/*
 * "Registered N": N/2 socketpairs, both ends registered for read, so N fds.
 * fds[2p] and fds[2p+1] are the two ends of pair p. "Make k readable": one
 * byte written into fds[2p] of k pairs spread evenly, so fds[2p+1] stays
 * readable (nobody reads it).
 */
struct fixture {
    int *fds;
    int nfds;
};

static void fixture_open(struct fixture *fx, int registered, int readable)
{
    if (registered % 2 != 0 || registered <= 0) {
        die_msg("registered=%d must be positive and even", registered);
    }
    int npairs = registered / 2;
    if (readable < 0 || readable > npairs) {
        die_msg("cannot make %d of %d pairs readable", readable, npairs);
    }
    fx->fds = xcalloc((size_t)registered, sizeof(int));
    fx->nfds = 0;
    for (int p = 0; p < npairs; p++) {
        int sv[2];
        if (make_socketpair(sv) != 0) {
            die_errno("socketpair(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC) (pair %d of %d)",
                      p + 1, npairs);
        }
        fx->fds[fx->nfds++] = sv[0];
        fx->fds[fx->nfds++] = sv[1];
    }
    for (int i = 0; i < readable; i++) {
        int p = (int)((long)i * npairs / readable);
        ssize_t w = write(fx->fds[2 * p], "x", 1);
        if (w != 1) {
            if (w < 0) {
                die_errno("write(socket fd %d)", fx->fds[2 * p]);
            }
            die_msg("write(socket fd %d) wrote %zd bytes, expected 1", fx->fds[2 * p], w);
        }
    }
}

static void fixture_close(struct fixture *fx)
{
    for (int i = 0; i < fx->nfds; i++) {
        xclose(fx->fds[i]);
    }
    free(fx->fds);
    fx->fds = NULL;
    fx->nfds = 0;
}

/* The first fd of the fixture that select cannot take, or -1. */
static int fixture_first_over_fdsetsize(const struct fixture *fx)
{
    for (int i = 0; i < fx->nfds; i++) {
        if (fx->fds[i] >= FD_SETSIZE) {
            return fx->fds[i];
        }
    }
    return -1;
}

/* ------------------------------------------------------------------ level-triggered sets */

enum mech { MECH_EPOLL, MECH_POLL, MECH_SELECT };

struct mux {
    int expected;                   /* ready fds every wait must report */
#ifdef __linux__
    int epfd;
    struct epoll_event *events;     /* MAX_EVENTS */
#endif
    struct pollfd *pfds;
    nfds_t npfds;
    fd_set master;
    int maxfd;
};

#ifdef __linux__
static void epoll_batch(void *ctx, long iters)
{
    struct mux *m = ctx;
    for (long i = 0; i < iters; i++) {
        int n = epoll_wait(m->epfd, m->events, MAX_EVENTS, 0);
        if (n < 0) {
            if (errno == EINTR) {
                i--;
                continue;
            }
            die_errno("epoll_wait(epfd %d, maxevents %d, timeout 0)", m->epfd, MAX_EVENTS);
        }
        if (n != m->expected) {
            die_msg("epoll_wait returned %d ready, expected %d", n, m->expected);
        }
        for (int j = 0; j < n; j++) {
            handler(m->events[j].data.fd, m->events[j].events);
        }
    }
}
#endif

static void poll_batch(void *ctx, long iters)
{
    struct mux *m = ctx;
    for (long i = 0; i < iters; i++) {
        int n = poll(m->pfds, m->npfds, 0);
        if (n < 0) {
            if (errno == EINTR) {
                i--;
                continue;
            }
            die_errno("poll(%lu fds, timeout 0)", (unsigned long)m->npfds);
        }
        if (n != m->expected) {
            die_msg("poll returned %d ready, expected %d", n, m->expected);
        }
        for (nfds_t j = 0; j < m->npfds; j++) {
            if (m->pfds[j].revents != 0) {
                handler(m->pfds[j].fd, (unsigned short)m->pfds[j].revents);
            }
        }
    }
}

static void select_batch(void *ctx, long iters)
{
    struct mux *m = ctx;
    fd_set rd;
    for (long i = 0; i < iters; i++) {
        struct timeval tv = { 0, 0 };
        memcpy(&rd, &m->master, sizeof(fd_set));
        int n = select(m->maxfd + 1, &rd, NULL, NULL, &tv);
        if (n < 0) {
            if (errno == EINTR) {
                i--;
                continue;
            }
            die_errno("select(nfds %d, zero timeout)", m->maxfd + 1);
        }
        if (n != m->expected) {
            die_msg("select returned %d ready, expected %d", n, m->expected);
        }
        for (int fd = 0; fd <= m->maxfd; fd++) {
            if (FD_ISSET(fd, &rd)) {
                handler(fd, POLLIN);
            }
        }
    }
}

static const char *mech_impl(enum mech k)
{
    switch (k) {
    case MECH_EPOLL: return "c-epoll";
    case MECH_POLL: return "c-poll";
    default: return "c-select";
    }
}

/*
 * One level-triggered measurement: `registered` fds, `readable` of them ready;
 * ns per ready event if per_event, else ns per wait call.
 */
static void measure_lt_as(const char *impl, const char *workload, enum mech kind, int registered,
                          int readable, const char *param, const char *unit, int per_event)
{
    struct fixture fx;
    struct mux m;
    memset(&m, 0, sizeof(m));
    m.expected = readable;
    fixture_open(&fx, registered, readable);

    batch_fn fn = NULL;
    switch (kind) {
    case MECH_EPOLL:
#ifdef __linux__
        m.epfd = epoll_create1(EPOLL_CLOEXEC);
        if (m.epfd < 0) {
            die_errno("epoll_create1(EPOLL_CLOEXEC)");
        }
        m.events = xcalloc(MAX_EVENTS, sizeof(struct epoll_event));
        for (int i = 0; i < fx.nfds; i++) {
            struct epoll_event ev;
            memset(&ev, 0, sizeof(ev));
            ev.events = EPOLLIN;
            ev.data.fd = fx.fds[i];
            if (epoll_ctl(m.epfd, EPOLL_CTL_ADD, fx.fds[i], &ev) != 0) {
                die_errno("epoll_ctl(EPOLL_CTL_ADD, fd %d)", fx.fds[i]);
            }
        }
        fn = epoll_batch;
#endif
        break;
    case MECH_POLL:
        m.npfds = (nfds_t)fx.nfds;
        m.pfds = xcalloc((size_t)fx.nfds, sizeof(struct pollfd));
        for (int i = 0; i < fx.nfds; i++) {
            m.pfds[i].fd = fx.fds[i];
            m.pfds[i].events = POLLIN;
        }
        fn = poll_batch;
        break;
    case MECH_SELECT: {
        int bad = fixture_first_over_fdsetsize(&fx);
        if (bad >= 0) {
            print_refused(workload, impl, param, bad);
            fixture_close(&fx);
            return;
        }
        FD_ZERO(&m.master);
        m.maxfd = -1;
        for (int i = 0; i < fx.nfds; i++) {
            FD_SET(fx.fds[i], &m.master);
            if (fx.fds[i] > m.maxfd) {
                m.maxfd = fx.fds[i];
            }
        }
        fn = select_batch;
        break;
    }
    }
    if (fn == NULL) {
        die_msg("%s is not available on this system", impl);
    }

    measure(workload, impl, param, unit, fn, &m, per_event ? (double)readable : 1.0);

#ifdef __linux__
    if (kind == MECH_EPOLL) {
        xclose(m.epfd);
        free(m.events);
    }
#endif
    free(m.pfds);
    fixture_close(&fx);
}

static void measure_lt(const char *workload, enum mech kind, int registered, int readable,
                       const char *param, const char *unit, int per_event)
{
    measure_lt_as(mech_impl(kind), workload, kind, registered, readable, param, unit, per_event);
}

/* The idle second thread of c-select-idlethread: blocked in read(2) until its pipe closes. */
static void *idle_main(void *arg)
{
    char b;
    while (read(*(int *)arg, &b, 1) < 0 && errno == EINTR) {
    }
    return NULL;
}

/*
 * Dispatch on select again with one idle thread alive, as every JVM has many. Linux's
 * __fget_light (fs/file.c) skips the file's reference count only while the fd table is not shared
 * (files->count == 1); once a second thread shares it, select's do_select takes and drops a
 * reference for every fd it looks at. That cost is in every select made from a JVM, whatever the
 * Java code does, so polyplex-select is also compared with this floor.
 */
static void run_dispatch_select_idlethread(void)
{
    int p[2];
    if (pipe(p) != 0) {
        die_errno("pipe");
    }
    pthread_t idle;
    int rc = pthread_create(&idle, NULL, idle_main, &p[0]);
    if (rc != 0) {
        errno = rc;
        die_errno("pthread_create");
    }
    measure_lt_as("c-select-idlethread", "dispatch", MECH_SELECT, 900, 100, "registered=900,ready=100",
                  "ns/event", 1);
    xclose(p[1]);
    rc = pthread_join(idle, NULL);
    if (rc != 0) {
        errno = rc;
        die_errno("pthread_join");
    }
    xclose(p[0]);
}

static void available_mechs(enum mech *out, int *n)
{
    *n = 0;
#ifdef __linux__
    out[(*n)++] = MECH_EPOLL;
#endif
    out[(*n)++] = MECH_POLL;
    out[(*n)++] = MECH_SELECT;
}

static void run_dispatch(void)
{
    enum mech mechs[3];
    int nm;
    available_mechs(mechs, &nm);
    for (int i = 0; i < nm; i++) {
        /* select: 900, because the JVM side has its own fds below FD_SETSIZE. */
        int registered = mechs[i] == MECH_SELECT ? 900 : 1000;
        char param[64];
        snprintf(param, sizeof(param), "registered=%d,ready=100", registered);
        measure_lt("dispatch", mechs[i], registered, 100, param, "ns/event", 1);
    }
}

static void run_scale(void)
{
    static const int sizes[] = { 10, 1000, 10000 };
    enum mech mechs[3];
    int nm;
    available_mechs(mechs, &nm);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        for (int i = 0; i < nm; i++) {
            /* select's 1,000 point is 900 on the JVM side (its own fds sit below FD_SETSIZE): match it. */
            int registered = mechs[i] == MECH_SELECT && sizes[s] == 1000 ? 900 : sizes[s];
            char param[64];
            snprintf(param, sizeof(param), "registered=%d", registered);
            measure_lt("scale", mechs[i], registered, 1, param, "ns/poll", 0);
        }
    }
}

/* ------------------------------------------------------------------ wakeup */

enum wkind { WAKE_EVENTFD, WAKE_PIPE };

struct wakefd {
    enum wkind kind;
    int rfd;    /* the end the owner waits on and drains */
    int wfd;    /* the end the peer signals (== rfd for an eventfd) */
};

/* One thread's multiplexer set, watching only its own wakeup fd. */
struct waiter {
    enum mech mech;
    struct wakefd w;
#ifdef __linux__
    int epfd;
#endif
    struct pollfd pfd;
    fd_set master;
};

struct wakebench {
    struct waiter a;    /* the measuring thread */
    struct waiter b;    /* the peer thread */
    atomic_int stop;
};

static void wake_open(struct wakefd *w, enum wkind kind)
{
    w->kind = kind;
    if (kind == WAKE_EVENTFD) {
#ifdef __linux__
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0) {
            die_errno("eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK)");
        }
        w->rfd = w->wfd = fd;
#else
        die_msg("eventfd is not available on this system");
#endif
    } else {
        int p[2];
        if (make_pipe(p) != 0) {
            die_errno("pipe2(O_CLOEXEC|O_NONBLOCK)");
        }
        w->rfd = p[0];
        w->wfd = p[1];
    }
}

static void wake_close(struct wakefd *w)
{
    xclose(w->rfd);
    if (w->wfd != w->rfd) {
        xclose(w->wfd);
    }
}

/* Signals w. A full pipe (EAGAIN) means the owner is already woken: fine. */
static void wake_signal(const struct wakefd *w)
{
    for (;;) {
        ssize_t n;
        if (w->kind == WAKE_EVENTFD) {
            uint64_t one = 1;
            n = write(w->wfd, &one, sizeof(one));
            if (n == (ssize_t)sizeof(one)) {
                return;
            }
        } else {
            n = write(w->wfd, "w", 1);
            if (n == 1) {
                return;
            }
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n < 0) {
            die_errno("write(%s fd %d)", w->kind == WAKE_EVENTFD ? "eventfd" : "pipe", w->wfd);
        }
        die_msg("write(wakeup fd %d) wrote %zd bytes", w->wfd, n);
    }
}

/* Reads w until EAGAIN. */
static void wake_drain(const struct wakefd *w)
{
    for (;;) {
        ssize_t n;
        if (w->kind == WAKE_EVENTFD) {
            uint64_t v;
            n = read(w->rfd, &v, sizeof(v));
            if (n > 0) {
                return; /* one read empties an eventfd */
            }
        } else {
            char buf[64];
            n = read(w->rfd, buf, sizeof(buf));
            if (n > 0 && n < (ssize_t) sizeof(buf)) {
                return; /* a short read emptied the pipe: no EAGAIN read needed (as the JDK and Polyplex drain) */
            }
            if (n > 0) {
                continue;
            }
        }
        if (n == 0) {
            die_msg("read(wakeup fd %d): unexpected end of file", w->rfd);
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        }
        if (errno == EINTR) {
            continue;
        }
        die_errno("read(%s fd %d)", w->kind == WAKE_EVENTFD ? "eventfd" : "pipe", w->rfd);
    }
}

/* Returns -1 on success, or the fd select cannot take. */
static int waiter_open(struct waiter *wt, enum mech mech, enum wkind kind)
{
    wt->mech = mech;
    wake_open(&wt->w, kind);
    switch (mech) {
    case MECH_EPOLL:
#ifdef __linux__
    {
        wt->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (wt->epfd < 0) {
            die_errno("epoll_create1(EPOLL_CLOEXEC)");
        }
        struct epoll_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.fd = wt->w.rfd;
        if (epoll_ctl(wt->epfd, EPOLL_CTL_ADD, wt->w.rfd, &ev) != 0) {
            die_errno("epoll_ctl(EPOLL_CTL_ADD, fd %d)", wt->w.rfd);
        }
    }
#else
        die_msg("epoll is not available on this system");
#endif
        break;
    case MECH_POLL:
        wt->pfd.fd = wt->w.rfd;
        wt->pfd.events = POLLIN;
        wt->pfd.revents = 0;
        break;
    case MECH_SELECT:
        if (wt->w.rfd >= FD_SETSIZE) {
            return wt->w.rfd;
        }
        FD_ZERO(&wt->master);
        FD_SET(wt->w.rfd, &wt->master);
        break;
    }
    return -1;
}

static void waiter_close(struct waiter *wt)
{
#ifdef __linux__
    if (wt->mech == MECH_EPOLL) {
        xclose(wt->epfd);
    }
#endif
    wake_close(&wt->w);
}

/* Blocks (no timeout) until the waiter's wakeup fd is readable. */
static void waiter_wait(struct waiter *wt)
{
    for (;;) {
        int n;
        switch (wt->mech) {
#ifdef __linux__
        case MECH_EPOLL: {
            struct epoll_event ev;
            memset(&ev, 0, sizeof(ev));
            n = epoll_wait(wt->epfd, &ev, 1, -1);
            if (n == 1 && ev.data.fd == wt->w.rfd && (ev.events & EPOLLIN)) {
                return;
            }
            if (n < 0 && errno != EINTR) {
                die_errno("epoll_wait(epfd %d, timeout -1)", wt->epfd);
            }
            if (n >= 0) {
                die_msg("epoll_wait returned %d (fd %d, events 0x%x), expected fd %d readable",
                        n, ev.data.fd, ev.events, wt->w.rfd);
            }
            break;
        }
#endif
        case MECH_POLL:
            n = poll(&wt->pfd, 1, -1);
            if (n == 1 && (wt->pfd.revents & POLLIN)) {
                return;
            }
            if (n < 0 && errno != EINTR) {
                die_errno("poll(fd %d, timeout -1)", wt->pfd.fd);
            }
            if (n >= 0) {
                die_msg("poll returned %d (revents 0x%x), expected fd %d readable",
                        n, (unsigned)wt->pfd.revents, wt->pfd.fd);
            }
            break;
        case MECH_SELECT: {
            fd_set rd;
            memcpy(&rd, &wt->master, sizeof(fd_set));
            n = select(wt->w.rfd + 1, &rd, NULL, NULL, NULL);
            if (n == 1 && FD_ISSET(wt->w.rfd, &rd)) {
                return;
            }
            if (n < 0 && errno != EINTR) {
                die_errno("select(nfds %d, no timeout)", wt->w.rfd + 1);
            }
            if (n >= 0) {
                die_msg("select returned %d, expected fd %d readable", n, wt->w.rfd);
            }
            break;
        }
        default:
            die_msg("mechanism not available on this system");
        }
        /* EINTR: wait again */
    }
}

static void *peer_main(void *arg)
{
    struct wakebench *wb = arg;
    for (;;) {
        waiter_wait(&wb->b);
        wake_drain(&wb->b.w);
        if (atomic_load(&wb->stop)) {
            break;
        }
        wake_signal(&wb->a.w);
    }
    return NULL;
}

/* iters round trips: signal B, block until B signals back, drain. */
static void wakeup_batch(void *ctx, long iters)
{
    struct wakebench *wb = ctx;
    for (long i = 0; i < iters; i++) {
        wake_signal(&wb->b.w);
        waiter_wait(&wb->a);
        wake_drain(&wb->a.w);
    }
}

static void measure_wakeup(const char *impl, enum mech mech, enum wkind kind)
{
    const char *param = "round-trip";
    struct wakebench wb;
    memset(&wb, 0, sizeof(wb));
    atomic_init(&wb.stop, 0);
    int bad = waiter_open(&wb.a, mech, kind);
    if (bad < 0) {
        bad = waiter_open(&wb.b, mech, kind);
        if (bad >= 0) {
            waiter_close(&wb.b);
        }
    }
    if (bad >= 0) {
        print_refused("wakeup", impl, param, bad);
        waiter_close(&wb.a);
        return;
    }

    pthread_t peer;
    int rc = pthread_create(&peer, NULL, peer_main, &wb);
    if (rc != 0) {
        errno = rc;
        die_errno("pthread_create");
    }

    measure("wakeup", impl, param, "ns/roundtrip", wakeup_batch, &wb, 1.0);

    atomic_store(&wb.stop, 1);
    wake_signal(&wb.b.w);
    rc = pthread_join(peer, NULL);
    if (rc != 0) {
        errno = rc;
        die_errno("pthread_join");
    }
    waiter_close(&wb.a);
    waiter_close(&wb.b);
}

static void run_wakeup(void)
{
#ifdef __linux__
    measure_wakeup("c-epoll-eventfd", MECH_EPOLL, WAKE_EVENTFD);
    measure_wakeup("c-epoll-pipe", MECH_EPOLL, WAKE_PIPE);
#endif
    measure_wakeup("c-poll-pipe", MECH_POLL, WAKE_PIPE);
    measure_wakeup("c-select-pipe", MECH_SELECT, WAKE_PIPE);
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    raise_nofile();

    long fds_before = opt_check_fds ? count_open_fds() : 0;
    int64_t t0 = now_ns();

    if (selected("dispatch")) {
        run_dispatch();
        run_dispatch_select_idlethread();
    }
    if (selected("scale")) {
        run_scale();
    }
    if (selected("wakeup")) {
        run_wakeup();
    }

    if (opt_check_fds) {
        long fds_after = count_open_fds();
        if (fds_after != fds_before) {
            die_msg("fd leak: %ld entries in /proc/self/fd before the workloads, %ld after",
                    fds_before, fds_after);
        }
        fprintf(stderr, "floor: fd check ok (%ld entries in /proc/self/fd before and after)\n",
                fds_before);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        die_errno("write(stdout)");
    }
    fprintf(stderr, "floor: done in %.1f s\n", (double)(now_ns() - t0) / 1e9);
    return 0;
}
