package dev.loraforge.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a template into text and tag tokens, applying Jinja's whitespace rules as Hugging Face
 * configures them: {@code -} on a tag strips all whitespace on that side, trim_blocks drops the
 * first newline after a block or comment tag, lstrip_blocks drops indentation before one.
 */
final class JinjaLexer {
    enum Type { TEXT, VAR_START, VAR_END, BLOCK_START, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    record Tok(Type type, String text, int line) {
    }

    private static final String[] OPS = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=",
        "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"};

    private final String src;
    private final boolean trimBlocks;
    private final boolean lstripBlocks;
    private final List<Tok> out = new ArrayList<>();
    private int pos;

    JinjaLexer(String src, boolean trimBlocks, boolean lstripBlocks) {
        this.src = src;
        this.trimBlocks = trimBlocks;
        this.lstripBlocks = lstripBlocks;
    }

    List<Tok> tokenize() {
        boolean stripNext = false;
        boolean trimNewline = false;
        while (true) {
            int tag = nextTag(pos);
            int textStart = pos;
            int textEnd = tag < 0 ? src.length() : tag;
            if (stripNext) {
                while (textStart < textEnd && Character.isWhitespace(src.charAt(textStart))) {
                    textStart++;
                }
            } else if (trimNewline && textStart < textEnd) {
                if (src.charAt(textStart) == '\n') {
                    textStart++;
                } else if (src.startsWith("\r\n", textStart) && textStart + 1 < textEnd) {
                    textStart += 2;
                }
            }
            if (tag < 0) {
                emitText(textStart, textEnd);
                break;
            }
            char kind = src.charAt(tag + 1);
            char mod = tag + 2 < src.length() ? src.charAt(tag + 2) : ' ';
            if (mod == '-') {
                while (textEnd > textStart && Character.isWhitespace(src.charAt(textEnd - 1))) {
                    textEnd--;
                }
            } else if (lstripBlocks && mod != '+' && kind != '{') {
                int lineStart = src.lastIndexOf('\n', textEnd - 1) + 1;
                if (lineStart >= textStart || textStart == 0 || src.charAt(textStart - 1) == '\n') {
                    int from = Math.max(lineStart, textStart);
                    if (src.substring(from, textEnd).chars().allMatch(c -> c == ' ' || c == '\t')) {
                        textEnd = from;
                    }
                }
            }
            emitText(textStart, textEnd);
            pos = tag + 2 + (mod == '-' || mod == '+' ? 1 : 0);
            if (kind == '#') {
                int end = src.indexOf("#}", pos);
                if (end < 0) {
                    throw error("unclosed comment");
                }
                stripNext = src.charAt(end - 1) == '-';
                trimNewline = trimBlocks;
                pos = end + 2;
                continue;
            }
            boolean block = kind == '%';
            out.add(new Tok(block ? Type.BLOCK_START : Type.VAR_START, "", line(tag)));
            stripNext = expression(block ? "%}" : "}}");
            out.add(new Tok(block ? Type.BLOCK_END : Type.VAR_END, "", line(pos)));
            trimNewline = block && trimBlocks;
        }
        out.add(new Tok(Type.EOF, "", line(src.length())));
        return out;
    }

    private int nextTag(int from) {
        int i = from;
        while ((i = src.indexOf('{', i)) >= 0 && i + 1 < src.length()) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
            i++;
        }
        return -1;
    }

    private void emitText(int a, int b) {
        if (b > a) {
            out.add(new Tok(Type.TEXT, src.substring(a, b), line(a)));
        }
    }

    /** Tokens up to the closing delimiter; returns whether it was written with a {@code -}. */
    private boolean expression(String close) {
        int depth = 0; // open brackets: "}}" inside a dict literal does not close the tag
        while (true) {
            while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) {
                pos++;
            }
            if (pos >= src.length()) {
                throw error("unclosed tag, expected '" + close + "'");
            }
            if (depth == 0 && src.startsWith(close, pos)) {
                pos += 2;
                return false;
            }
            if (depth == 0 && src.startsWith("-" + close, pos)) {
                pos += 3;
                return true;
            }
            if (depth == 0 && src.startsWith("+" + close, pos)) {
                pos += 3;
                return false;
            }
            char c = src.charAt(pos);
            int start = pos;
            if (Character.isLetter(c) || c == '_') {
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                    pos++;
                }
                out.add(new Tok(Type.NAME, src.substring(start, pos), line(start)));
            } else if (Character.isDigit(c)) {
                while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                    pos++;
                }
                boolean isFloat = pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1));
                if (isFloat) {
                    pos++;
                    while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                        pos++;
                    }
                }
                out.add(new Tok(isFloat ? Type.FLOAT : Type.INT, src.substring(start, pos).replace("_", ""), line(start)));
            } else if (c == '\'' || c == '"') {
                out.add(new Tok(Type.STRING, string(c), line(start)));
            } else {
                String op = null;
                for (String o : OPS) {
                    if (src.startsWith(o, pos)) {
                        op = o;
                        break;
                    }
                }
                if (op == null) {
                    throw error("unexpected character '" + c + "'");
                }
                pos += op.length();
                depth += switch (op) {
                    case "(", "[", "{" -> 1;
                    case ")", "]", "}" -> depth > 0 ? -1 : 0;
                    default -> 0;
                };
                out.add(new Tok(Type.OP, op, line(start)));
            }
        }
    }

    /** A quoted literal with Python's escapes. */
    private String string(char quote) {
        StringBuilder sb = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= src.length()) {
                throw error("unclosed string literal");
            }
            char c = src.charAt(pos++);
            if (c == quote) {
                return sb.toString();
            }
            if (c != '\\' || pos >= src.length()) {
                sb.append(c);
                continue;
            }
            char e = src.charAt(pos++);
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case '0' -> sb.append('\0');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case '\\', '\'', '"' -> sb.append(e);
                case '\n' -> {
                }
                case 'x' -> sb.append(hex(2));
                case 'u' -> sb.append(hex(4));
                case 'U' -> sb.appendCodePoint(Integer.parseInt(hexDigits(8), 16));
                default -> sb.append('\\').append(e);
            }
        }
    }

    private char hex(int n) {
        return (char) Integer.parseInt(hexDigits(n), 16);
    }

    private String hexDigits(int n) {
        if (pos + n > src.length()) {
            throw error("truncated escape");
        }
        String h = src.substring(pos, pos + n);
        pos += n;
        return h;
    }

    private int line(int offset) {
        int line = 1;
        for (int i = 0; i < Math.min(offset, src.length()); i++) {
            if (src.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    private TokenizerException error(String what) {
        return JinjaTemplate.error("line " + line(pos) + ": " + what);
    }
}
