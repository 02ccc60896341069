package dev.loraforge.tokenizer;

import java.util.List;
import java.util.Map;

/** JinjaTemplate syntax tree: statements ({@link JinjaNode}) and expressions ({@link Expr}). */
sealed interface JinjaNode {
    record Text(String text) implements JinjaNode {
    }

    record Output(Expr expr) implements JinjaNode {
    }

    record If(List<Expr> conditions, List<List<JinjaNode>> bodies, List<JinjaNode> elseBody) implements JinjaNode {
    }

    record For(List<String> targets, Expr iterable, Expr filter, List<JinjaNode> body, List<JinjaNode> elseBody) implements JinjaNode {
    }

    /** {@code set name = value} or {@code set name.attr = value} (attr null for the first). */
    record Set(String name, String attr, Expr value) implements JinjaNode {
    }

    record Break() implements JinjaNode {
    }

    record Continue() implements JinjaNode {
    }

    sealed interface Expr {
    }

    record Const(Object value) implements Expr {
    }

    record Name(String name) implements Expr {
    }

    record ListLit(List<Expr> items) implements Expr {
    }

    record DictLit(List<Expr> keys, List<Expr> values) implements Expr {
    }

    record Attr(Expr target, String name) implements Expr {
    }

    record Item(Expr target, Expr key) implements Expr {
    }

    record Slice(Expr target, Expr start, Expr stop, Expr step) implements Expr {
    }

    record Call(Expr fn, List<Expr> args, Map<String, Expr> kwargs) implements Expr {
    }

    record Filter(Expr value, String name, List<Expr> args, Map<String, Expr> kwargs) implements Expr {
    }

    record Test(Expr value, String name, List<Expr> args, boolean negated) implements Expr {
    }

    record Unary(String op, Expr operand) implements Expr {
    }

    record Binary(String op, Expr left, Expr right) implements Expr {
    }

    record Cond(Expr condition, Expr then, Expr otherwise) implements Expr {
    }
}
