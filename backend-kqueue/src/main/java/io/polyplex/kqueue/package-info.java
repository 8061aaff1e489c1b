/**
 * The kqueue backend's implementation; not exported, not an API. {@link
 * io.polyplex.kqueue.KqueueProvider} is what {@link java.util.ServiceLoader} instantiates, and it
 * opens one kqueue per queue; {@link io.polyplex.kqueue.KqueueLibrary} is the binding of the kqueue
 * system calls, and {@link io.polyplex.kqueue.KeventLayout} says where each field of {@code struct
 * kevent} lives on this system. The provider and the binding are public for their users:
 * ServiceLoader, and jnr-ffi, which implements the binding in a class loader of its own.
 *
 * <p>kqueue runs nowhere here, so what the backend knows of the kernels was read in their sources
 * (FreeBSD, XNU, OpenBSD and DragonFly {@code sys/kern/kern_event.c} or {@code
 * bsd/kern/kern_event.c}), and the emulated kernel its tests run on ({@code EmulatedKqueue}, test
 * code) cites the same functions. The rules of registration and delivery are in {@code
 * KqueueBackend}'s own table; the facts below are the ones that decided a design choice.
 *
 * <table>
 *   <caption>Kernel facts, their sources, and what the backend does about them</caption>
 *   <tr><th>fact</th><th>source</th><th>so the backend</th></tr>
 *   <tr><td>One kevent call can return two events for one fd number with different udata: the
 *       old socket's and that of a socket that took the number while the call ran</td><td>XNU
 *       {@code kqueue_process} (no end marker: it takes knotes off the queue until it is empty) and
 *       {@code knote_process} (drops the kqueue lock around each copy-out); FreeBSD, OpenBSD and
 *       DragonFly {@code kqueue_scan} stop at a marker</td><td>merges a batch's events only when
 *       fd and udata are both equal</td></tr>
 *   <tr><td>A close that falls between {@code fget} and the attach leaves a knote holding the
 *       closed file under the fd number; a later EV_ADD on the reused number only replaces its
 *       udata</td><td>FreeBSD {@code kqueue_register} (no re-check; {@code knote_fdclose} has
 *       passed); OpenBSD {@code kqueue_register} re-checks with {@code fd_checkclosed}, DragonFly
 *       with {@code checkfdclosed}</td><td>deletes each filter before adding it, in every
 *       register's changelist</td></tr>
 *   <tr><td>EV_DISPATCH disables only the knote that fired, not the fd's other filter; EV_ENABLE
 *       evaluates the filter again</td><td>FreeBSD {@code kqueue_scan}, {@code kqueue_register};
 *       XNU {@code knote_process}, {@code kevent_register}</td><td>nothing: one stray event per
 *       filter, dropped by core, after which the kernel agrees; a re-arm enables every wanted
 *       filter</td></tr>
 *   <tr><td>With less room than receipts: FreeBSD and OpenBSD stop applying the changelist, XNU
 *       drops successful receipts silently, DragonFly writes every receipt with no room check</td>
 *       <td>FreeBSD {@code kqueue_kevent}, OpenBSD {@code sys_kevent}, XNU {@code
 *       kevent_internal}, DragonFly {@code kern_kevent} ({@code kevent_copyoutfn})</td><td>passes
 *       room for a receipt per change, checked before every change call ({@code
 *       MAX_CHANGES})</td></tr>
 *   <tr><td>A change-only call with EV_RECEIPT on every change and room for every receipt returns
 *       without waiting, and one that fails applied nothing</td><td>FreeBSD {@code kqueue_kevent},
 *       XNU {@code kevent_internal}</td><td>retries a transient errno, a bounded number of
 *       times</td></tr>
 *   <tr><td>A timeout with {@code tv_sec} &gt; INT32_MAX is EINVAL on XNU; FreeBSD waits
 *       forever</td><td>XNU {@code timespec_is_valid} ({@code bsd/kern/kern_time.c}), via {@code
 *       kevent_legacy_get_deadline}; FreeBSD {@code kqueue_scan}</td><td>caps a wait at 86,399 s
 *       (Netty's cap); core waits again for the rest</td></tr>
 *   <tr><td>FreeBSD 12+ libc has two {@code kevent}s: {@code kevent@@FBSD_1.5} (64-byte struct)
 *       and the hidden {@code kevent@FBSD_1.0} (32-byte); a FreeBSD 11 userland has only the
 *       latter</td><td>{@code lib/libc/sys/Symbol.map}, {@code lib/libc/include/compat.h} ({@code
 *       __sym_compat(kevent, freebsd11_kevent, FBSD_1.0)}); rtld {@code symlook_obj1} never
 *       returns a hidden version to a plain lookup</td><td>takes the layout from the version the
 *       plain name resolves to in the C library the process runs ({@code
 *       io.polyplex.internal.SymbolVersions}: the object that defines {@code kevent}, by {@code
 *       dladdr}; never {@code dlopen} of jnr-ffi's library name, the bare {@code "c"} there, which
 *       rtld's {@code find_library} looks up as a file and does not find)</td></tr>
 * </table>
 */
package io.polyplex.kqueue;
