package dev.loraforge.tokenizer;

import dev.loraforge.tokenizer.JinjaLexer.Tok;
import dev.loraforge.tokenizer.JinjaLexer.Type;
import dev.loraforge.tokenizer.JinjaNode.Expr;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Recursive-descent parser with Jinja2's operator precedence (filters and tests bind tightest). */
final class JinjaParser {
    private static final Set<String> COMPARE = Set.of("==", "!=", "<", "<=", ">", ">=");

    private final List<Tok> toks;
    private int i;

    JinjaParser(List<Tok> toks) {
        this.toks = toks;
    }

    List<JinjaNode> parseTemplate() {
        List<JinjaNode> body = parseBody(Set.of());
        if (peek().type() != Type.EOF) {
            throw error("unexpected '" + blockKeyword() + "'");
        }
        return body;
    }

    /** Statements until a block tag whose keyword is in {@code ends} (left unconsumed) or EOF. */
    private List<JinjaNode> parseBody(Set<String> ends) {
        List<JinjaNode> body = new ArrayList<>();
        while (true) {
            Tok t = peek();
            switch (t.type()) {
                case EOF -> {
                    if (!ends.isEmpty()) {
                        throw error("missing " + ends);
                    }
                    return body;
                }
                case TEXT -> {
                    i++;
                    body.add(new JinjaNode.Text(t.text()));
                }
                case VAR_START -> {
                    i++;
                    body.add(new JinjaNode.Output(expression()));
                    expect(Type.VAR_END);
                }
                case BLOCK_START -> {
                    String kw = blockKeyword();
                    if (ends.contains(kw)) {
                        return body;
                    }
                    i += 2;
                    body.add(statement(kw));
                }
                default -> throw error("unexpected " + t.type());
            }
        }
    }

    private String blockKeyword() {
        Tok k = toks.get(i + 1);
        return k.type() == Type.NAME ? k.text() : "";
    }

    private JinjaNode statement(String kw) {
        switch (kw) {
            case "if" -> {
                List<Expr> conds = new ArrayList<>();
                List<List<JinjaNode>> bodies = new ArrayList<>();
                List<JinjaNode> elseBody = List.of();
                conds.add(expression());
                expect(Type.BLOCK_END);
                while (true) {
                    bodies.add(parseBody(Set.of("elif", "else", "endif")));
                    String end = blockKeyword();
                    i += 2;
                    if (end.equals("elif")) {
                        conds.add(expression());
                        expect(Type.BLOCK_END);
                    } else if (end.equals("else")) {
                        expect(Type.BLOCK_END);
                        elseBody = parseBody(Set.of("endif"));
                        i += 2;
                        expect(Type.BLOCK_END);
                        break;
                    } else {
                        expect(Type.BLOCK_END);
                        break;
                    }
                }
                return new JinjaNode.If(conds, bodies, elseBody);
            }
            case "for" -> {
                List<String> targets = new ArrayList<>();
                targets.add(name());
                while (acceptOp(",")) {
                    targets.add(name());
                }
                expectName("in");
                Expr iterable = orExpr();
                Expr filter = acceptName("if") ? orExpr() : null;
                expect(Type.BLOCK_END);
                List<JinjaNode> body = parseBody(Set.of("else", "endfor"));
                List<JinjaNode> elseBody = List.of();
                if (blockKeyword().equals("else")) {
                    i += 2;
                    expect(Type.BLOCK_END);
                    elseBody = parseBody(Set.of("endfor"));
                }
                i += 2;
                expect(Type.BLOCK_END);
                return new JinjaNode.For(targets, iterable, filter, body, elseBody);
            }
            case "set" -> {
                String target = name();
                String attr = acceptOp(".") ? name() : null;
                expectOp("=");
                Expr value = expression();
                expect(Type.BLOCK_END);
                return new JinjaNode.Set(target, attr, value);
            }
            case "break", "continue" -> {
                expect(Type.BLOCK_END);
                return kw.equals("break") ? new JinjaNode.Break() : new JinjaNode.Continue();
            }
            case "generation" -> { // transformers' assistant-mask marker: renders its body unchanged
                expect(Type.BLOCK_END);
                List<JinjaNode> body = parseBody(Set.of("endgeneration"));
                i += 2;
                expect(Type.BLOCK_END);
                return new JinjaNode.If(List.of(new JinjaNode.Const(true)), List.of(body), List.of());
            }
            default -> throw error("unsupported tag '" + kw + "'");
        }
    }

    Expr expression() {
        Expr e = orExpr();
        while (acceptName("if")) {
            Expr cond = orExpr();
            Expr otherwise = acceptName("else") ? expression() : new JinjaNode.Const(PyValue.Undefined.INSTANCE);
            e = new JinjaNode.Cond(cond, e, otherwise);
        }
        return e;
    }

    private Expr orExpr() {
        Expr e = andExpr();
        while (acceptName("or")) {
            e = new JinjaNode.Binary("or", e, andExpr());
        }
        return e;
    }

    private Expr andExpr() {
        Expr e = notExpr();
        while (acceptName("and")) {
            e = new JinjaNode.Binary("and", e, notExpr());
        }
        return e;
    }

    private Expr notExpr() {
        if (peekName("not")) {
            i++;
            return new JinjaNode.Unary("not", notExpr());
        }
        return compare();
    }

    private Expr compare() {
        Expr e = add();
        while (true) {
            Tok t = peek();
            if (t.type() == Type.OP && COMPARE.contains(t.text())) {
                i++;
                e = new JinjaNode.Binary(t.text(), e, add());
            } else if (acceptName("in")) {
                e = new JinjaNode.Binary("in", e, add());
            } else if (peekName("not") && toks.get(i + 1).type() == Type.NAME && toks.get(i + 1).text().equals("in")) {
                i += 2;
                e = new JinjaNode.Binary("notin", e, add());
            } else {
                return e;
            }
        }
    }

    private Expr add() {
        Expr e = concat();
        while (peekOp("+") || peekOp("-")) {
            String op = toks.get(i++).text();
            e = new JinjaNode.Binary(op, e, concat());
        }
        return e;
    }

    private Expr concat() {
        Expr e = mul();
        while (acceptOp("~")) {
            e = new JinjaNode.Binary("~", e, mul());
        }
        return e;
    }

    private Expr mul() {
        Expr e = pow();
        while (peekOp("*") || peekOp("/") || peekOp("//") || peekOp("%")) {
            String op = toks.get(i++).text();
            e = new JinjaNode.Binary(op, e, pow());
        }
        return e;
    }

    private Expr pow() {
        Expr e = unary(true);
        while (acceptOp("**")) {
            e = new JinjaNode.Binary("**", e, unary(true));
        }
        return e;
    }

    private Expr unary(boolean withFilter) {
        Expr e;
        if (acceptOp("-")) {
            e = new JinjaNode.Unary("-", unary(false));
        } else if (acceptOp("+")) {
            e = unary(false);
        } else {
            e = postfix(primary());
        }
        return withFilter ? filters(e) : e;
    }

    private Expr filters(Expr e) {
        while (true) {
            if (acceptOp("|")) {
                String name = dottedName();
                List<Expr> args = new ArrayList<>();
                Map<String, Expr> kwargs = new LinkedHashMap<>();
                if (acceptOp("(")) {
                    callArgs(args, kwargs);
                }
                e = new JinjaNode.Filter(e, name, args, kwargs);
            } else if (acceptName("is")) {
                boolean negated = acceptName("not");
                String name = dottedName();
                List<Expr> args = new ArrayList<>();
                Map<String, Expr> kwargs = new LinkedHashMap<>();
                Tok t = peek();
                if (acceptOp("(")) {
                    callArgs(args, kwargs);
                } else if ((t.type() == Type.NAME && !Set.of("else", "or", "and", "if").contains(t.text()))
                        || t.type() == Type.STRING || t.type() == Type.INT || t.type() == Type.FLOAT
                        || peekOp("[") || peekOp("{")) {
                    args.add(postfix(primary()));
                }
                e = new JinjaNode.Test(e, name, args, negated);
            } else if (peekOp("(")) {
                i++;
                e = call(e);
            } else {
                return e;
            }
        }
    }

    private Expr primary() {
        Tok t = toks.get(i++);
        switch (t.type()) {
            case NAME -> {
                return switch (t.text()) {
                    case "true", "True" -> new JinjaNode.Const(true);
                    case "false", "False" -> new JinjaNode.Const(false);
                    case "none", "None" -> new JinjaNode.Const(null);
                    default -> new JinjaNode.Name(t.text());
                };
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder(t.text());
                while (peek().type() == Type.STRING) {
                    sb.append(toks.get(i++).text());
                }
                return new JinjaNode.Const(sb.toString());
            }
            case INT -> {
                return new JinjaNode.Const(Long.parseLong(t.text()));
            }
            case FLOAT -> {
                return new JinjaNode.Const(Double.parseDouble(t.text()));
            }
            case OP -> {
                switch (t.text()) {
                    case "(" -> {
                        if (acceptOp(")")) {
                            return new JinjaNode.ListLit(List.of());
                        }
                        Expr e = expression();
                        if (peekOp(",")) {
                            List<Expr> items = new ArrayList<>(List.of(e));
                            while (acceptOp(",") && !peekOp(")")) {
                                items.add(expression());
                            }
                            e = new JinjaNode.ListLit(items);
                        }
                        expectOp(")");
                        return e;
                    }
                    case "[" -> {
                        List<Expr> items = new ArrayList<>();
                        while (!acceptOp("]")) {
                            items.add(expression());
                            if (!acceptOp(",")) {
                                expectOp("]");
                                break;
                            }
                        }
                        return new JinjaNode.ListLit(items);
                    }
                    case "{" -> {
                        List<Expr> keys = new ArrayList<>(), values = new ArrayList<>();
                        while (!acceptOp("}")) {
                            keys.add(expression());
                            expectOp(":");
                            values.add(expression());
                            if (!acceptOp(",")) {
                                expectOp("}");
                                break;
                            }
                        }
                        return new JinjaNode.DictLit(keys, values);
                    }
                    default -> {
                    }
                }
            }
            default -> {
            }
        }
        i--;
        throw error("unexpected '" + t.text() + "'");
    }

    private Expr postfix(Expr e) {
        while (true) {
            if (acceptOp(".")) {
                Tok t = toks.get(i++);
                if (t.type() != Type.NAME && t.type() != Type.INT) {
                    throw error("expected attribute name after '.'");
                }
                e = new JinjaNode.Attr(e, t.text());
            } else if (acceptOp("[")) {
                Expr[] parts = new Expr[3];
                int part = 0;
                boolean slice = false;
                while (!acceptOp("]")) {
                    if (acceptOp(":")) {
                        slice = true;
                        if (++part > 2) {
                            throw error("too many ':' in slice");
                        }
                        continue;
                    }
                    parts[part] = expression();
                }
                e = slice ? new JinjaNode.Slice(e, parts[0], parts[1], parts[2]) : new JinjaNode.Item(e, parts[0]);
            } else if (acceptOp("(")) {
                e = call(e);
            } else {
                return e;
            }
        }
    }

    private Expr call(Expr fn) {
        List<Expr> args = new ArrayList<>();
        Map<String, Expr> kwargs = new LinkedHashMap<>();
        callArgs(args, kwargs);
        return new JinjaNode.Call(fn, args, kwargs);
    }

    /** Arguments after an opening parenthesis, through the closing one. */
    private void callArgs(List<Expr> args, Map<String, Expr> kwargs) {
        while (!acceptOp(")")) {
            if (peek().type() == Type.NAME && toks.get(i + 1).type() == Type.OP && toks.get(i + 1).text().equals("=")) {
                String k = toks.get(i).text();
                i += 2;
                kwargs.put(k, expression());
            } else {
                args.add(expression());
            }
            if (!acceptOp(",")) {
                expectOp(")");
                return;
            }
        }
    }

    private String dottedName() {
        StringBuilder sb = new StringBuilder(name());
        while (peekOp(".") && toks.get(i + 1).type() == Type.NAME) {
            i++;
            sb.append('.').append(name());
        }
        return sb.toString();
    }

    private Tok peek() {
        return toks.get(i);
    }

    private boolean peekOp(String op) {
        Tok t = peek();
        return t.type() == Type.OP && t.text().equals(op);
    }

    private boolean peekName(String n) {
        Tok t = peek();
        return t.type() == Type.NAME && t.text().equals(n);
    }

    private boolean acceptOp(String op) {
        if (peekOp(op)) {
            i++;
            return true;
        }
        return false;
    }

    private boolean acceptName(String n) {
        if (peekName(n)) {
            i++;
            return true;
        }
        return false;
    }

    private void expectOp(String op) {
        if (!acceptOp(op)) {
            throw error("expected '" + op + "'");
        }
    }

    private void expectName(String n) {
        if (!acceptName(n)) {
            throw error("expected '" + n + "'");
        }
    }

    private String name() {
        Tok t = peek();
        if (t.type() != Type.NAME) {
            throw error("expected a name");
        }
        i++;
        return t.text();
    }

    private void expect(Type type) {
        if (peek().type() != type) {
            throw error("expected " + type + " but found " + peek().type() + " '" + peek().text() + "'");
        }
        i++;
    }

    private TokenizerException error(String what) {
        return JinjaTemplate.error("line " + peek().line() + ": " + what);
    }
}
