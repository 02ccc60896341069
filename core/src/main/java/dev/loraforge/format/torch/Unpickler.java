package dev.loraforge.format.torch;

import dev.loraforge.format.torch.Pickled.Bytes;
import dev.loraforge.format.torch.Pickled.Global;
import dev.loraforge.format.torch.Pickled.Tuple;
import dev.loraforge.format.torch.TorchFormatException.Kind;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A pickle reader (protocols 2 to 5) that interprets opcodes as data only. Globals are looked up in
 * {@link TorchGlobals}' allow-list the moment their name is read; any other name is refused with a
 * {@link Kind#REFUSED_GLOBAL} error naming it, so nothing outside loraforge's own Java ever runs.
 * Sizes are checked against the bytes left before anything is allocated.
 */
public final class Unpickler {
    /** A state-dict pickle is a few hundred bytes per tensor; this is far above any real one. */
    public static final long MAX_PICKLE_BYTES = 64L << 20;
    /**
     * Values pushed plus memo entries per pickle (about 40 per tensor). Bounds the heap a hostile pickle
     * of one-byte opcodes ({@code ]]]]...}) could make us allocate.
     */
    public static final long MAX_VALUES = 8_000_000;
    /** Nesting of tuples used as dict keys and of dicts flattened into tensor names. */
    public static final int MAX_DEPTH = 64;
    public static final int HIGHEST_PROTOCOL = 5;
    /** Longest LONG1/LONG4 integer accepted; a state dict needs 8 bytes at most. */
    public static final int MAX_LONG_BYTES = 64;

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_BE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final Object MARK = new Object();

    private final MemorySegment in;
    private final String where;
    private final Function<Tuple, Object> persistentLoad;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private final long maxValues;
    private long values;
    private long pos;

    private Unpickler(MemorySegment in, String where, Function<Tuple, Object> persistentLoad, long maxValues) {
        this.in = in;
        this.where = where;
        this.persistentLoad = persistentLoad;
        this.maxValues = maxValues;
    }

    /**
     * Reads one pickle.
     * @param where          names the pickle in errors, e.g. {@code pytorch_model.bin/data.pkl}
     * @param persistentLoad maps a persistent id tuple to its object; errors for unknown ids
     */
    public static Object load(MemorySegment pickle, String where, Function<Tuple, Object> persistentLoad) {
        return load(pickle, where, persistentLoad, MAX_VALUES);
    }

    /** {@link #load} with a different value budget (tests use a small one). */
    static Object load(MemorySegment pickle, String where, Function<Tuple, Object> persistentLoad, long maxValues) {
        if (pickle.byteSize() > MAX_PICKLE_BYTES) {
            throw new TorchFormatException(Kind.SIZE_LIMIT, "pickle in " + where + " has " + pickle.byteSize()
                    + " bytes, limit " + MAX_PICKLE_BYTES);
        }
        try {
            return new Unpickler(pickle, where, persistentLoad, maxValues).run();
        } catch (StackOverflowError e) {
            throw new TorchFormatException(Kind.BAD_PICKLE, "pickle in " + where + " nests too deeply");
        }
    }

    /** A value read from the start of a longer stream, and the offset just after its STOP. */
    public record Loaded(Object value, long end) {
    }

    /**
     * Reads the pickle that starts at {@code offset} of a longer stream (the legacy format puts several in a
     * row); at most {@link #MAX_PICKLE_BYTES} are looked at.
     */
    public static Loaded loadAt(MemorySegment stream, long offset, String where, Function<Tuple, Object> persistentLoad) {
        MemorySegment window = stream.asSlice(offset, Math.min(stream.byteSize() - offset, MAX_PICKLE_BYTES));
        Unpickler u = new Unpickler(window, where, persistentLoad, MAX_VALUES);
        try {
            Object v = u.run();
            return new Loaded(v, offset + u.pos);
        } catch (StackOverflowError e) {
            throw new TorchFormatException(Kind.BAD_PICKLE, "pickle in " + where + " nests too deeply");
        }
    }

    private TorchFormatException bad(String msg) {
        return new TorchFormatException(Kind.BAD_PICKLE, "pickle in " + where + " at byte " + pos + ": " + msg);
    }

    private TorchFormatException refused(String what) {
        return new TorchFormatException(Kind.REFUSED_GLOBAL, "pickle in " + where + " " + what
                + ": refused (only state-dict globals are allowed; nothing was run)");
    }

    private Object run() {
        while (true) {
            if (pos >= in.byteSize()) {
                throw bad("ends without STOP");
            }
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v > HIGHEST_PROTOCOL) {
                        throw bad("protocol " + v + " is unknown");
                    }
                }
                case 0x95 -> take(8); // FRAME: a length hint only
                case 0x2e -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) {
                        throw bad("STOP with " + stack.size() + " values and " + marks.size() + " marks on the stack");
                    }
                    return stack.getFirst();
                }
                case 0x28 -> { // MARK
                    count();
                    marks.add(stack.size());
                }
                case 0x30 -> pop(); // POP
                case 0x31 -> popMark(); // POP_MARK
                case 0x32 -> push(peek()); // DUP
                case 0x4e -> push(null); // NONE
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 0x4a -> push((long) in.get(I32, take(4))); // BININT
                case 0x4b -> push((long) u8()); // BININT1
                case 0x4d -> push((long) (in.get(I16, take(2)) & 0xFFFF)); // BININT2
                case 0x8a -> push(longN(u8())); // LONG1
                case 0x8b -> push(longN(length(in.get(I32, take(4)) & 0xFFFFFFFFL))); // LONG4
                case 0x47 -> push(in.get(F64_BE, take(8))); // BINFLOAT
                case 0x58 -> push(utf8(length(in.get(I32, take(4)) & 0xFFFFFFFFL))); // BINUNICODE
                case 0x8c -> push(utf8(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(length(in.get(I64, take(8))))); // BINUNICODE8
                case 0x42 -> push(new Bytes(bytes(length(in.get(I32, take(4)) & 0xFFFFFFFFL)))); // BINBYTES
                case 0x43 -> push(new Bytes(bytes(u8()))); // SHORT_BINBYTES
                case 0x8e, 0x96 -> push(new Bytes(bytes(length(in.get(I64, take(8)))))); // BINBYTES8, BYTEARRAY8
                case 0x54 -> push(latin1(length(in.get(I32, take(4)) & 0xFFFFFFFFL))); // BINSTRING (py2 str)
                case 0x55 -> push(latin1(u8())); // SHORT_BINSTRING
                case 0x29 -> push(Tuple.of()); // EMPTY_TUPLE
                case 0x85 -> push(Tuple.of(pop())); // TUPLE1
                case 0x86 -> { // TUPLE2
                    Object b = pop();
                    push(Tuple.of(pop(), b));
                }
                case 0x87 -> { // TUPLE3
                    Object c = pop();
                    Object b = pop();
                    push(Tuple.of(pop(), b, c));
                }
                case 0x74 -> push(new Tuple(popMark())); // TUPLE
                case 0x5d -> push(new ArrayList<>()); // EMPTY_LIST
                case 0x6c -> push(new ArrayList<>(popMark())); // LIST
                case 0x61 -> { // APPEND
                    Object v = pop();
                    list(peek()).add(v);
                }
                case 0x65 -> { // APPENDS
                    List<Object> items = popMark();
                    list(peek()).addAll(items);
                }
                case 0x7d -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case 0x64 -> { // DICT
                    List<Object> items = popMark();
                    Map<Object, Object> d = new LinkedHashMap<>();
                    putPairs(d, items);
                    push(d);
                }
                case 0x73 -> { // SETITEM
                    Object v = pop();
                    Object k = pop();
                    dict(peek()).put(hashableKey(k, where), v);
                }
                case 0x75 -> { // SETITEMS
                    List<Object> items = popMark();
                    putPairs(dict(peek()), items);
                }
                case 0x8f -> push(new LinkedHashSet<>()); // EMPTY_SET
                case 0x90 -> { // ADDITEMS
                    List<Object> items = popMark();
                    Set<Object> s = set(peek());
                    for (Object o : items) {
                        s.add(hashableKey(o, where));
                    }
                }
                case 0x91 -> { // FROZENSET
                    Set<Object> s = new LinkedHashSet<>();
                    for (Object o : popMark()) {
                        s.add(hashableKey(o, where));
                    }
                    push(Set.copyOf(s.stream().filter(java.util.Objects::nonNull).toList()));
                }
                case 0x71 -> memoPut(u8()); // BINPUT
                case 0x72 -> memoPut(in.get(I32, take(4)) & 0xFFFFFFFFL); // LONG_BINPUT
                case 0x94 -> memoPut(memo.size()); // MEMOIZE
                case 0x68 -> push(memoGet(u8())); // BINGET
                case 0x6a -> push(memoGet(in.get(I32, take(4)) & 0xFFFFFFFFL)); // LONG_BINGET
                case 0x63 -> push(global(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw bad("STACK_GLOBAL needs two strings");
                    }
                    push(global(m, n));
                }
                case 0x52 -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    if (!(args instanceof Tuple t)) {
                        throw bad("REDUCE arguments are not a tuple");
                    }
                    push(TorchGlobals.call(callable, t, where));
                }
                case 0x51 -> { // BINPERSID
                    if (!(pop() instanceof Tuple pid)) {
                        throw bad("persistent id is not a tuple");
                    }
                    push(persistentLoad.apply(pid));
                }
                case 0x62 -> build(); // BUILD
                case 0x81 -> { // NEWOBJ
                    pop();
                    throw refused("creates an object of " + TorchGlobals.describe(pop()) + " (NEWOBJ)");
                }
                case 0x92 -> { // NEWOBJ_EX
                    pop();
                    pop();
                    throw refused("creates an object of " + TorchGlobals.describe(pop()) + " (NEWOBJ_EX)");
                }
                case 0x6f -> { // OBJ
                    List<Object> items = popMark();
                    throw refused("creates an object of "
                            + (items.isEmpty() ? "nothing" : TorchGlobals.describe(items.getFirst())) + " (OBJ)");
                }
                case 0x69 -> throw refused("creates an object of " + line() + "." + line() + " (INST)"); // INST
                case 0x82, 0x83, 0x84 -> throw refused("uses the copyreg extension registry (EXT" + (op - 0x81) + ")");
                case 0x97, 0x98 -> throw bad("out-of-band buffers are not supported");
                case 0x50 -> throw bad("text persistent ids (protocol 0 PERSID) are not supported");
                case 0x46, 0x49, 0x4c, 0x53, 0x56, 0x67, 0x70 ->
                        throw bad("protocol 0 text opcode '" + (char) op + "' is not supported");
                default -> throw bad("unknown opcode 0x" + Integer.toHexString(op));
            }
        }
    }

    /** BUILD sets an object's state; only dicts (OrderedDict._metadata) and tensors take one, ignored. */
    private void build() {
        Object state = pop();
        Object target = peek();
        if (target instanceof Map<?, ?> || target instanceof Pickled.TensorRef) {
            if (state == null || state instanceof Map<?, ?> || state instanceof Tuple) {
                return;
            }
        }
        throw refused("sets the state of " + TorchGlobals.describe(target) + " (BUILD)");
    }

    private Object global(String module, String name) {
        return TorchGlobals.lookup(module, name).map(g -> (Object) g)
                .orElseThrow(() -> refused("calls " + module + "." + name));
    }

    private void putPairs(Map<Object, Object> d, List<Object> items) {
        if (items.size() % 2 != 0) {
            throw bad("odd number of items for a dict");
        }
        for (int i = 0; i < items.size(); i += 2) {
            d.put(hashableKey(items.get(i), where), items.get(i + 1));
        }
    }

    /** A value Python could hash: scalars, strings, bytes, globals and shallow tuples of those. */
    static Object hashableKey(Object k, String where) {
        checkHashable(k, 0, where);
        return k;
    }

    private static void checkHashable(Object k, int depth, String where) {
        if (depth > MAX_DEPTH) {
            throw new TorchFormatException(Kind.BAD_PICKLE, "pickle in " + where + ": key nests deeper than " + MAX_DEPTH);
        }
        if (k instanceof Tuple t) {
            for (Object o : t.items()) {
                checkHashable(o, depth + 1, where);
            }
        } else if (!(k == null || k instanceof String || k instanceof Long || k instanceof BigInteger
                || k instanceof Boolean || k instanceof Double || k instanceof Bytes || k instanceof Global)) {
            throw new TorchFormatException(Kind.BAD_PICKLE, "pickle in " + where + ": unhashable key "
                    + TorchGlobals.describe(k));
        }
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) {
        if (o instanceof ArrayList<?> l) {
            return (List<Object>) l;
        }
        throw bad("APPEND to " + TorchGlobals.describe(o));
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) {
        if (o instanceof LinkedHashMap<?, ?> m) {
            return (Map<Object, Object>) m;
        }
        throw bad("SETITEM on " + TorchGlobals.describe(o));
    }

    @SuppressWarnings("unchecked")
    private Set<Object> set(Object o) {
        if (o instanceof LinkedHashSet<?> s) {
            return (Set<Object>) s;
        }
        throw bad("ADDITEMS on " + TorchGlobals.describe(o));
    }

    private Object memoGet(long i) {
        if (!memo.containsKey(i)) {
            throw bad("memo key " + i + " was never stored");
        }
        return memo.get(i);
    }

    private void push(Object o) {
        count();
        stack.add(o);
    }

    private void memoPut(long key) {
        count();
        memo.put(key, peek());
    }

    private void count() {
        if (++values > maxValues) {
            throw new TorchFormatException(Kind.SIZE_LIMIT, "pickle in " + where + " at byte " + pos + " creates more than "
                    + maxValues + " values");
        }
    }

    private Object pop() {
        int floor = marks.isEmpty() ? 0 : marks.getLast();
        if (stack.size() <= floor) {
            throw bad("stack underflow");
        }
        return stack.removeLast();
    }

    private Object peek() {
        int floor = marks.isEmpty() ? 0 : marks.getLast();
        if (stack.size() <= floor) {
            throw bad("stack underflow");
        }
        return stack.getLast();
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) {
            throw bad("no MARK on the stack");
        }
        int m = marks.removeLast();
        List<Object> view = stack.subList(m, stack.size());
        List<Object> items = new ArrayList<>(view);
        view.clear();
        return items;
    }

    private int u8() {
        return in.get(ValueLayout.JAVA_BYTE, take(1)) & 0xFF;
    }

    /** Returns the current offset and advances by {@code n}, failing when fewer bytes are left. */
    private long take(long n) {
        if (n > in.byteSize() - pos) {
            throw new TorchFormatException(Kind.SIZE_LIMIT, "pickle in " + where + " at byte " + pos + " declares "
                    + n + " bytes, only " + (in.byteSize() - pos) + " are left");
        }
        long p = pos;
        pos += n;
        return p;
    }

    private long length(long n) {
        if (n < 0 || n > in.byteSize() - pos) {
            throw new TorchFormatException(Kind.SIZE_LIMIT, "pickle in " + where + " at byte " + pos + " declares "
                    + Long.toUnsignedString(n) + " bytes, only " + (in.byteSize() - pos) + " are left");
        }
        return n;
    }

    private byte[] bytes(long n) {
        return in.asSlice(take(n), n).toArray(ValueLayout.JAVA_BYTE);
    }

    private String utf8(long n) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes(n))).toString();
        } catch (CharacterCodingException e) {
            throw bad("string is not UTF-8");
        }
    }

    private String latin1(long n) {
        return new String(bytes(n), StandardCharsets.ISO_8859_1);
    }

    /** A newline-terminated ASCII line (GLOBAL and INST operands). */
    private String line() {
        long start = pos;
        long end = Math.min(in.byteSize(), start + 1024);
        for (long p = start; p < end; p++) {
            if (in.get(ValueLayout.JAVA_BYTE, p) == '\n') {
                String s = new String(in.asSlice(start, p - start).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                pos = p + 1;
                return s;
            }
        }
        throw bad("unterminated name line");
    }

    /** Little-endian two's complement integer of {@code n} bytes (LONG1/LONG4). */
    private Object longN(long n) {
        if (n > MAX_LONG_BYTES) {
            throw bad("integer of " + n + " bytes, limit " + MAX_LONG_BYTES);
        }
        byte[] le = bytes(n);
        if (n == 0) {
            return 0L;
        }
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) {
            be[i] = le[le.length - 1 - i];
        }
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }
}
