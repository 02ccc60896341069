package dev.loraforge.format.torch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A zip64 checkpoint over 4 GiB: a 4 GiB storage and an entry whose local header lies past 4 GiB.
 * Cheap: the file is sparse, only headers and a few values are written.
 */
class TorchLargeFileTest {
    static final int BIG = 1 << 30; // FloatStorage elements: 4 GiB

    private static byte[] local(String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(30 + n.length).order(ByteOrder.LITTLE_ENDIAN).putInt(TorchZip.LOCAL_SIG)
                .putShort((short) 45).putShort((short) 0).putShort((short) 0).putInt(0).putInt(0).putInt(-1).putInt(-1)
                .putShort((short) n.length).putShort((short) 0).put(n).array();
    }

    private static byte[] central(String name, long size, long offset, int crc) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(46 + n.length + 28).order(ByteOrder.LITTLE_ENDIAN).putInt(TorchZip.CENTRAL_SIG)
                .putShort((short) 45).putShort((short) 45).putShort((short) 0).putShort((short) 0).putInt(0).putInt(crc)
                .putInt(-1).putInt(-1).putShort((short) n.length).putShort((short) 28).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0).putInt(0).putInt(-1).put(n)
                .putShort((short) 1).putShort((short) 24).putLong(size).putLong(size).putLong(offset).array();
    }

    @Test
    void readsAStorageAndAnEntryPast4GiB(@TempDir Path dir) throws IOException {
        byte[] pkl = new PickleBuilder().proto(2).op('}')
                .str("big").tensor1d("FloatStorage", "0", BIG, 0, BIG, 1).op('s')
                .str("tail").tensor1d("FloatStorage", "1", 3, 0, 3, 1).op('s').stop().bytes();
        String[] names = {"archive/data.pkl", "archive/data/0", "archive/data/1"};
        long[] sizes = {pkl.length, 4L * BIG, 12};
        long[] offsets = new long[3];
        long[] dataAt = new long[3];
        long pos = 0;
        for (int i = 0; i < 3; i++) {
            offsets[i] = pos;
            dataAt[i] = pos + local(names[i]).length;
            pos = dataAt[i] + sizes[i];
        }
        Path p = dir.resolve("big.bin");
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            for (int i = 0; i < 3; i++) {
                raf.seek(offsets[i]);
                raf.write(local(names[i]));
            }
            raf.seek(dataAt[0]);
            raf.write(pkl);
            raf.seek(dataAt[1] + 4L * (BIG - 2));
            raf.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(7f).array());
            raf.seek(dataAt[2]);
            raf.write(ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f).putFloat(3.25f).array());
            long cd = pos;
            raf.seek(cd);
            long cdSize = 0;
            for (int i = 0; i < 3; i++) {
                java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                crc.update(pkl);
                byte[] c = central(names[i], sizes[i], offsets[i], i == 0 ? (int) crc.getValue() : 0);
                raf.write(c);
                cdSize += c.length;
            }
            long z = cd + cdSize;
            raf.write(ByteBuffer.allocate(56 + 20 + 22).order(ByteOrder.LITTLE_ENDIAN)
                    .putInt(TorchZip.ZIP64_EOCD_SIG).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0)
                    .putInt(0).putLong(3).putLong(3).putLong(cdSize).putLong(cd)
                    .putInt(TorchZip.ZIP64_LOCATOR_SIG).putInt(0).putLong(z).putInt(1)
                    .putInt(TorchZip.EOCD_SIG).putShort((short) 0).putShort((short) 0).putShort((short) -1)
                    .putShort((short) -1).putInt(-1).putInt(-1).putShort((short) 0).array());
        }
        try (TorchFile f = TorchFile.open(p)) {
            assertThat(f.zip().orElseThrow().find("data/1").orElseThrow().localHeaderOffset()).isGreaterThan(0xFFFFFFFFL);
            assertThat(f.get("big").byteSize()).isEqualTo(4L * BIG);
            assertThat(f.get("big").getFloat(BIG - 2)).isEqualTo(7f);
            assertThat(f.get("big").data().isMapped()).isTrue();
            assertThat(f.get("tail").toFloatArray()).containsExactly(1.5f, -2f, 3.25f);
        }
    }
}
