package dev.loraforge.bench;

import dev.loraforge.format.safetensors.ModelFiles;
import dev.loraforge.tensor.TensorView;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.LongStream;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Opens a model folder through the library's validating reader and touches every byte of every tensor
 * (a 64-bit sum per chunk), as a lower bound for any command that streams a model.
 */
public final class ReadModel {
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final VectorSpecies<Long> S = LongVector.SPECIES_PREFERRED;
    // a plain long sum: C2 compiles and vectorizes it within milliseconds, while Vector API code runs
    // interpreted (hundreds of times slower) until C2 gets to it; -Dread.vector=true measures that path
    private static final boolean SCALAR = !Boolean.getBoolean("read.vector");

    public static void main(String[] args) throws IOException {
        long t0 = System.nanoTime();
        long sum = 0;
        long bytes = 0;
        try (ModelFiles model = ModelFiles.open(Path.of(args[0]))) {
            List<String> names = model.names();
            for (String name : names) {
                TensorView v = model.get(name);
                sum = sum * 31 + checksum(v.data());
                bytes += v.byteSize();
                // streaming commands drop pages from the process once read (the page cache keeps them), so RSS
                // stays small: checksum() unloads chunk by chunk, here the unaligned tail
                if (v.data().isMapped()) {
                    v.data().unload();
                }
            }
            System.out.printf("%d tensors, %,d bytes, checksum %016x, %.2f s%n", names.size(), bytes, sum,
                    (System.nanoTime() - t0) / 1e9);
        }
    }

    static long checksum(MemorySegment seg) {
        long n = seg.byteSize() / 8;
        long chunk = 1 << 18;
        long words = LongStream.range(0, (n + chunk - 1) / chunk).parallel().map(c -> {
            long from = c * chunk * 8;
            long end = Math.min(n, (c + 1) * chunk) * 8;
            if (SCALAR) {
                long r = 0;
                for (long i = from; i < end; i += 8) {
                    r += seg.get(I64, i);
                }
                if (seg.isMapped() && end > from) {
                    seg.asSlice(from, end - from).unload();
                }
                return r * (c + 1);
            }
            LongVector acc = LongVector.zero(S);
            long i = from;
            for (; i + S.vectorByteSize() <= end; i += S.vectorByteSize()) {
                acc = acc.lanewise(VectorOperators.ROL, 1).lanewise(VectorOperators.XOR,
                        LongVector.fromMemorySegment(S, seg, i, ByteOrder.LITTLE_ENDIAN));
            }
            long r = acc.reduceLanes(VectorOperators.XOR);
            for (; i < end; i += 8) {
                r = Long.rotateLeft(r, 1) ^ seg.get(I64, i);
            }
            if (seg.isMapped() && end > from) {
                seg.asSlice(from, end - from).unload(); // each chunk's pages leave the process once read
            }
            return r * (c + 1);
        }).reduce(0, Long::sum);
        for (long i = n * 8; i < seg.byteSize(); i++) {
            words = words * 31 + seg.get(ValueLayout.JAVA_BYTE, i);
        }
        return words;
    }
}
