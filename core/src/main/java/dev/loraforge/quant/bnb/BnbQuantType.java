package dev.loraforge.quant.bnb;

import java.util.Optional;

/** bitsandbytes' 4-bit data types, named as {@code quant_type} and {@code bnb_4bit_quant_type} spell them. */
public enum BnbQuantType {
    NF4("nf4"), FP4("fp4");

    private final String fileName;

    BnbQuantType(String fileName) {
        this.fileName = fileName;
    }

    public String fileName() {
        return fileName;
    }

    public static Optional<BnbQuantType> fromFileName(String s) {
        for (BnbQuantType t : values()) {
            if (t.fileName.equals(s)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
