/**
 * {@link io.polyplex.selector.PolyplexSelectorProvider}: a {@link java.nio.channels.Selector} for
 * jnr-enxio and jnr-unixsocket channels, built on a Polyplex {@link io.polyplex.EventQueue}. The
 * selector, its keys and its key sets are documented on the provider; they are reached only
 * through the {@code java.nio.channels} types.
 */
package io.polyplex.selector;
