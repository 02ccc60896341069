package dev.loraforge.format.torch;

import dev.loraforge.format.torch.Pickled.Global;
import dev.loraforge.format.torch.Pickled.StorageRef;
import dev.loraforge.format.torch.Pickled.TensorRef;
import dev.loraforge.format.torch.Pickled.Tuple;
import dev.loraforge.format.torch.TorchFormatException.Kind;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The allow-list of a state-dict pickle: the only globals the unpickler admits, and what "calling" each
 * means, implemented here in plain Java. Anything else is refused by name before it could be called.
 */
final class TorchGlobals {
    private TorchGlobals() {
    }

    static final Global ORDERED_DICT = new Global("collections", "OrderedDict");
    static final Global REBUILD_TENSOR = new Global("torch._utils", "_rebuild_tensor");
    static final Global REBUILD_TENSOR_V2 = new Global("torch._utils", "_rebuild_tensor_v2");
    static final Global REBUILD_PARAMETER = new Global("torch._utils", "_rebuild_parameter");
    static final Global REBUILD_PARAMETER_WITH_STATE = new Global("torch._utils", "_rebuild_parameter_with_state");
    static final Global REBUILD_FROM_TYPE_V2 = new Global("torch._tensor", "_rebuild_from_type_v2");
    static final Global TENSOR = new Global("torch", "Tensor");
    static final Global PARAMETER = new Global("torch.nn.parameter", "Parameter");
    /** Protocol 2 writes Python 3 bytes as {@code _codecs.encode(str, 'latin1')}. */
    static final Global CODECS_ENCODE = new Global("_codecs", "encode");

    private static final Set<Global> CALLABLE = Set.of(ORDERED_DICT, REBUILD_TENSOR, REBUILD_TENSOR_V2,
            REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE, REBUILD_FROM_TYPE_V2, CODECS_ENCODE);
    private static final Set<Global> TYPES_ONLY = Set.of(TENSOR, PARAMETER);
    private static final int MAX_RANK = 64;

    /** The admitted global, or empty when {@code module.name} is not on the list. */
    static Optional<Global> lookup(String module, String name) {
        Global g = new Global(module, name);
        if (CALLABLE.contains(g) || TYPES_ONLY.contains(g)) {
            return Optional.of(g);
        }
        if (module.equals("torch") && TorchStorageType.byName(name).isPresent()) {
            return Optional.of(g);
        }
        return Optional.empty();
    }

    /** Does what Python would do for {@code callable(*args)}, for the few callables on the list. */
    static Object call(Object callable, Tuple args, String where) {
        if (!(callable instanceof Global g) || !CALLABLE.contains(g)) {
            throw new TorchFormatException(Kind.REFUSED_GLOBAL, "pickle in " + where + " calls " + describe(callable)
                    + ": refused (only state-dict rebuild functions may be called)");
        }
        if (g.equals(ORDERED_DICT)) {
            return orderedDict(args, where);
        }
        if (g.equals(REBUILD_TENSOR) || g.equals(REBUILD_TENSOR_V2)) {
            return rebuildTensor(args, where, g);
        }
        if (g.equals(REBUILD_PARAMETER) || g.equals(REBUILD_PARAMETER_WITH_STATE)) {
            argCount(args, g.equals(REBUILD_PARAMETER) ? 3 : 4, g, where);
            return tensorArg(args.get(0), g, where);
        }
        if (g.equals(REBUILD_FROM_TYPE_V2)) {
            argCount(args, 4, g, where);
            Object type = args.get(1);
            if (!TENSOR.equals(type) && !PARAMETER.equals(type)) {
                throw new TorchFormatException(Kind.REFUSED_GLOBAL, "pickle in " + where + " rebuilds a tensor as "
                        + describe(type) + ": refused");
            }
            if (!(args.get(2) instanceof Tuple inner)) {
                throw bad(where, g + " expects an argument tuple");
            }
            return tensorArg(call(args.get(0), inner, where), g, where);
        }
        // _codecs.encode(text, 'latin1'): pure, used for bytes in protocol 2
        argCount(args, 2, g, where);
        if (!(args.get(0) instanceof String s) || !"latin1".equals(args.get(1))) {
            throw new TorchFormatException(Kind.REFUSED_GLOBAL, "pickle in " + where
                    + " calls _codecs.encode with other than (str, 'latin1'): refused");
        }
        return new Pickled.Bytes(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static Object orderedDict(Tuple args, String where) {
        Map<Object, Object> map = new LinkedHashMap<>();
        if (args.size() == 0) {
            return map;
        }
        if (args.size() == 1 && args.get(0) instanceof List<?> pairs) {
            for (Object p : pairs) {
                if (!(p instanceof Tuple t) || t.size() != 2) {
                    throw bad(where, "OrderedDict item is not a pair");
                }
                map.put(Unpickler.hashableKey(t.get(0), where), t.get(1));
            }
            return map;
        }
        throw bad(where, "collections.OrderedDict called with " + args.size() + " unsupported arguments");
    }

    private static TensorRef rebuildTensor(Tuple args, String where, Global g) {
        if (args.size() < 4 || args.size() > 7) {
            throw bad(where, g + " called with " + args.size() + " arguments");
        }
        if (!(args.get(0) instanceof StorageRef storage)) {
            throw bad(where, g + " argument 0 is not a storage persistent id");
        }
        long offset = longArg(args.get(1), g, where);
        long[] size = dims(args.get(2), g, where, "size");
        long[] stride = dims(args.get(3), g, where, "stride");
        if (size.length != stride.length) {
            throw new TorchFormatException(Kind.BAD_TENSOR, "pickle in " + where + ": tensor has " + size.length
                    + " sizes but " + stride.length + " strides");
        }
        return new TensorRef(storage, offset, size, stride);
    }

    private static long[] dims(Object o, Global g, String where, String what) {
        if (!(o instanceof Tuple t)) {
            throw bad(where, g + " " + what + " is not a tuple");
        }
        if (t.size() > MAX_RANK) {
            throw new TorchFormatException(Kind.BAD_TENSOR, "pickle in " + where + ": tensor of rank " + t.size()
                    + ", limit " + MAX_RANK);
        }
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = longArg(t.get(i), g, where);
            if (out[i] < 0) {
                throw new TorchFormatException(Kind.BAD_TENSOR, "pickle in " + where + ": negative " + what + " "
                        + out[i] + " at dim " + i);
            }
        }
        return out;
    }

    private static long longArg(Object o, Global g, String where) {
        if (o instanceof Long l) {
            return l;
        }
        if (o instanceof BigInteger) {
            throw new TorchFormatException(Kind.BAD_TENSOR, "pickle in " + where + ": " + g + " integer " + o
                    + " exceeds 64 bits");
        }
        throw bad(where, g + " expects an integer, got " + describe(o));
    }

    private static TensorRef tensorArg(Object o, Global g, String where) {
        if (o instanceof TensorRef t) {
            return t;
        }
        throw bad(where, g + " expects a tensor, got " + describe(o));
    }

    private static void argCount(Tuple args, int n, Global g, String where) {
        if (args.size() != n) {
            throw bad(where, g + " called with " + args.size() + " arguments, expected " + n);
        }
    }

    private static TorchFormatException bad(String where, String msg) {
        return new TorchFormatException(Kind.BAD_PICKLE, "pickle in " + where + ": " + msg);
    }

    static String describe(Object o) {
        if (o == null) {
            return "None";
        }
        if (o instanceof Global g) {
            return g.qualifiedName();
        }
        return "a " + o.getClass().getSimpleName();
    }
}
