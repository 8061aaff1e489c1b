package io.polyplex.selector;

import java.nio.channels.SelectionKey;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.ConcurrentModificationException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * A selector's selected-key set, as the JDK specifies it: keys may be removed (one by one, through
 * an iterator, or all with {@link #clear()}) but not added, except by the selector; not thread-safe;
 * iterators are fail-fast. Each key knows its own index, so adding, finding and removing a key is an
 * array access, and a selection that adds keys allocates nothing once the array has grown to the
 * most keys ever selected at once (a {@link java.util.HashSet}, the JDK's choice, allocates a node
 * per added key). Removal moves the last key into the gap, so the order of iteration is not the
 * order of selection; a {@code Set} promises none.
 */
final class SelectedKeys extends AbstractSet<SelectionKey> {

    private final PolyplexSelector owner;
    private PolyplexSelectionKey[] keys = new PolyplexSelectionKey[16];
    private int size;
    private int modCount;

    SelectedKeys(PolyplexSelector owner) {
        this.owner = owner;
    }

    /** Adds {@code k}, which is not in the set; the selector's own path. */
    void addKey(PolyplexSelectionKey k) {
        if (size == keys.length) {
            keys = Arrays.copyOf(keys, size * 2);
        }
        k.selectedIndex = size;
        keys[size++] = k;
        modCount++;
    }

    /** Whether {@code k} (a key of this selector) is in the set. */
    static boolean isSelected(PolyplexSelectionKey k) {
        return k.selectedIndex >= 0;
    }

    private void removeAt(int i) {
        PolyplexSelectionKey gone = keys[i];
        gone.selectedIndex = -1;
        int last = --size;
        if (i != last) {
            PolyplexSelectionKey moved = keys[last];
            keys[i] = moved;
            moved.selectedIndex = i;
        }
        keys[last] = null;
        modCount++;
    }

    /**
     * Refused, as the JDK refuses it: only a selection operation adds keys.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public boolean add(SelectionKey key) {
        throw new UnsupportedOperationException("keys cannot be added to the selected-key set");
    }

    @Override
    public boolean contains(Object o) {
        return o instanceof PolyplexSelectionKey k && k.selector() == owner && k.selectedIndex >= 0
                && k.selectedIndex < size && keys[k.selectedIndex] == k;
    }

    @Override
    public boolean remove(Object o) {
        if (!contains(o)) {
            return false;
        }
        removeAt(((PolyplexSelectionKey) o).selectedIndex);
        return true;
    }

    @Override
    public void clear() {
        if (size == 0) {
            return;
        }
        for (int i = 0; i < size; i++) {
            keys[i].selectedIndex = -1;
            keys[i] = null;
        }
        size = 0;
        modCount++;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean isEmpty() {
        return size == 0;
    }

    @Override
    public Iterator<SelectionKey> iterator() {
        return new Iterator<>() {
            private int cursor;
            private int last = -1;
            private int expected = modCount;

            @Override
            public boolean hasNext() {
                return cursor < size;
            }

            @Override
            public SelectionKey next() {
                if (modCount != expected) {
                    throw new ConcurrentModificationException();
                }
                if (cursor >= size) {
                    throw new NoSuchElementException();
                }
                last = cursor;
                return keys[cursor++];
            }

            @Override
            public void remove() {
                if (last < 0) {
                    throw new IllegalStateException();
                }
                if (modCount != expected) {
                    throw new ConcurrentModificationException();
                }
                removeAt(last);
                cursor = last; // the last key moved into the gap: visit it next
                last = -1;
                expected = modCount;
            }
        };
    }
}
