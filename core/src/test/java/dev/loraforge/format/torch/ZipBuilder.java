package dev.loraforge.format.torch;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/** Writes small zip files byte by byte, with knobs to break each rule the reader checks. */
final class ZipBuilder {
    /** One entry; the overrides, when set, replace what an honest writer would put in the directory. */
    static final class Item {
        final String name;
        final byte[] data;
        int method = 0;
        int flags = 0;
        Long centralOffsetOverride;
        Long centralSizeOverride;
        String localNameOverride;
        long localOffset;
        int crc;

        Item(String name, byte[] data) {
            this.name = name;
            this.data = data;
        }
    }

    private final List<Item> items = new ArrayList<>();
    boolean zip64;

    Item add(String name, byte[] data) {
        Item it = new Item(name, data);
        items.add(it);
        return it;
    }

    byte[] build() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Item it : items) {
            it.localOffset = out.size();
            CRC32 crc = new CRC32();
            crc.update(it.data);
            it.crc = (int) crc.getValue();
            byte[] name = (it.localNameOverride != null ? it.localNameOverride : it.name).getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = le(30 + name.length);
            b.putInt(TorchZip.LOCAL_SIG).putShort((short) 20).putShort((short) it.flags).putShort((short) it.method)
                    .putShort((short) 0).putShort((short) 0x21).putInt(it.crc).putInt(it.data.length)
                    .putInt(it.data.length).putShort((short) name.length).putShort((short) 0).put(name);
            out.writeBytes(b.array());
            out.writeBytes(it.data);
        }
        long cdStart = out.size();
        for (Item it : items) {
            byte[] name = it.name.getBytes(StandardCharsets.UTF_8);
            long offset = it.centralOffsetOverride != null ? it.centralOffsetOverride : it.localOffset;
            long size = it.centralSizeOverride != null ? it.centralSizeOverride : it.data.length;
            boolean big = zip64 || size >= 0xFFFFFFFFL || offset >= 0xFFFFFFFFL;
            int extra = big ? 4 + 24 : 0;
            ByteBuffer b = le(46 + name.length + extra);
            b.putInt(TorchZip.CENTRAL_SIG).putShort((short) 45).putShort((short) 45).putShort((short) it.flags)
                    .putShort((short) it.method).putShort((short) 0).putShort((short) 0x21).putInt(it.crc)
                    .putInt(big ? -1 : (int) size).putInt(big ? -1 : (int) size).putShort((short) name.length)
                    .putShort((short) extra).putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0)
                    .putInt(big ? -1 : (int) offset).put(name);
            if (big) {
                b.putShort((short) 1).putShort((short) 24).putLong(size).putLong(size).putLong(offset);
            }
            out.writeBytes(b.array());
        }
        long cdSize = out.size() - cdStart;
        if (zip64) {
            long z = out.size();
            ByteBuffer e = le(56);
            e.putInt(TorchZip.ZIP64_EOCD_SIG).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
                    .putLong(items.size()).putLong(items.size()).putLong(cdSize).putLong(cdStart);
            out.writeBytes(e.array());
            ByteBuffer l = le(20);
            l.putInt(TorchZip.ZIP64_LOCATOR_SIG).putInt(0).putLong(z).putInt(1);
            out.writeBytes(l.array());
        }
        ByteBuffer e = le(22);
        e.putInt(TorchZip.EOCD_SIG).putShort((short) 0).putShort((short) 0)
                .putShort((short) (zip64 ? 0xFFFF : items.size())).putShort((short) (zip64 ? 0xFFFF : items.size()))
                .putInt(zip64 ? -1 : (int) cdSize).putInt(zip64 ? -1 : (int) cdStart).putShort((short) 0);
        out.writeBytes(e.array());
        return out.toByteArray();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
