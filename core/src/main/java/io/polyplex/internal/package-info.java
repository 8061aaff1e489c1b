/**
 * Native plumbing shared by every backend: the libc binding core needs ({@link
 * io.polyplex.internal.LibC}), errno to exception ({@link io.polyplex.internal.NativeErrors}), the
 * wakeup channel ({@link io.polyplex.internal.SelfPipe}), the per-fd interest state ({@link
 * io.polyplex.internal.InterestTable}) and the one {@link io.polyplex.EventQueue} implementation
 * over a {@link io.polyplex.spi.Backend} ({@link io.polyplex.internal.PollerEventQueue}). Not an
 * API: backends may use it, applications should not.
 */
package io.polyplex.internal;
