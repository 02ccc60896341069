package dev.loraforge.tokenizer;

import dev.loraforge.tokenizer.JinjaNode.Expr;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Executes a parsed template against variables, with Jinja2 scoping (a for-loop body is its own scope). */
final class JinjaInterpreter {
    /** Nesting a template may reach before it is taken for runaway recursion. */
    static final int MAX_DEPTH = 200;
    /** Output limit, so a hostile template cannot exhaust memory. */
    static final int MAX_OUTPUT_CHARS = 64 << 20;

    private static final class Scope {
        final Map<String, Object> vars = new HashMap<>();
        final Scope parent;

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object get(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.vars.containsKey(name)) {
                    return s.vars.get(name);
                }
            }
            return PyValue.Undefined.INSTANCE;
        }
    }

    private static final class LoopSignal extends RuntimeException {
        final boolean isBreak;

        LoopSignal(boolean isBreak) {
            super(null, null, false, false);
            this.isBreak = isBreak;
        }
    }

    private static final LoopSignal BREAK = new LoopSignal(true);
    private static final LoopSignal CONTINUE = new LoopSignal(false);

    private final JinjaBuiltins builtins;
    private final StringBuilder out = new StringBuilder();
    private int depth;

    JinjaInterpreter(JinjaBuiltins builtins) {
        this.builtins = builtins;
    }

    String render(List<JinjaNode> template, Map<String, Object> variables) {
        Scope root = new Scope(null);
        root.vars.putAll(builtins.globals());
        Scope top = new Scope(root);
        top.vars.putAll(variables);
        exec(template, top);
        return out.toString();
    }

    private void exec(List<JinjaNode> body, Scope scope) {
        for (JinjaNode n : body) {
            exec(n, scope);
        }
    }

    private void exec(JinjaNode n, Scope scope) {
        switch (n) {
            case JinjaNode.Text t -> write(t.text());
            case JinjaNode.Output o -> write(PyValue.str(eval(o.expr(), scope)));
            case JinjaNode.If f -> {
                for (int k = 0; k < f.conditions().size(); k++) {
                    if (PyValue.truthy(eval(f.conditions().get(k), scope))) {
                        exec(f.bodies().get(k), scope);
                        return;
                    }
                }
                exec(f.elseBody(), scope);
            }
            case JinjaNode.For f -> loop(f, scope);
            case JinjaNode.Set s -> {
                Object v = eval(s.value(), scope);
                if (s.attr() == null) {
                    scope.vars.put(s.name(), v);
                } else if (scope.get(s.name()) instanceof PyValue.Namespace ns) {
                    ns.attrs.put(s.attr(), v);
                } else {
                    throw JinjaTemplate.error("cannot assign attribute on non-namespace object '" + s.name() + "'");
                }
            }
            case JinjaNode.Break b -> throw BREAK;
            case JinjaNode.Continue c -> throw CONTINUE;
        }
    }

    private void write(String s) {
        if (out.length() + (long) s.length() > MAX_OUTPUT_CHARS) {
            throw JinjaTemplate.error("template output exceeds " + MAX_OUTPUT_CHARS + " characters");
        }
        out.append(s);
    }

    private void loop(JinjaNode.For f, Scope scope) {
        List<Object> items = PyValue.iterate(eval(f.iterable(), scope));
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                Scope s = new Scope(scope);
                bind(f.targets(), item, s);
                if (PyValue.truthy(eval(f.filter(), s))) {
                    kept.add(item);
                }
            }
            items = kept;
        }
        if (items.isEmpty()) {
            exec(f.elseBody(), scope);
            return;
        }
        if (++depth > MAX_DEPTH) {
            throw JinjaTemplate.error("loops nested deeper than " + MAX_DEPTH);
        }
        try {
            int n = items.size();
            for (int k = 0; k < n; k++) {
                Scope s = new Scope(scope);
                bind(f.targets(), items.get(k), s);
                Map<String, Object> loop = new LinkedHashMap<>();
                loop.put("index", (long) k + 1);
                loop.put("index0", (long) k);
                loop.put("revindex", (long) (n - k));
                loop.put("revindex0", (long) (n - k - 1));
                loop.put("first", k == 0);
                loop.put("last", k == n - 1);
                loop.put("length", (long) n);
                loop.put("previtem", k > 0 ? items.get(k - 1) : PyValue.Undefined.INSTANCE);
                loop.put("nextitem", k < n - 1 ? items.get(k + 1) : PyValue.Undefined.INSTANCE);
                s.vars.put("loop", loop);
                try {
                    exec(f.body(), s);
                } catch (LoopSignal signal) {
                    if (signal.isBreak) {
                        break;
                    }
                }
            }
        } finally {
            depth--;
        }
    }

    private static void bind(List<String> targets, Object item, Scope s) {
        if (targets.size() == 1) {
            s.vars.put(targets.getFirst(), item);
            return;
        }
        List<Object> parts = PyValue.iterate(item);
        if (parts.size() != targets.size()) {
            throw JinjaTemplate.error("cannot unpack " + parts.size() + " values into " + targets.size() + " names");
        }
        for (int k = 0; k < targets.size(); k++) {
            s.vars.put(targets.get(k), parts.get(k));
        }
    }

    private Object eval(Expr e, Scope scope) {
        return switch (e) {
            case JinjaNode.Const c -> c.value();
            case JinjaNode.Name n -> scope.get(n.name());
            case JinjaNode.ListLit l -> {
                List<Object> items = new ArrayList<>();
                for (Expr x : l.items()) {
                    items.add(eval(x, scope));
                }
                yield items;
            }
            case JinjaNode.DictLit d -> {
                Map<String, Object> m = new LinkedHashMap<>();
                for (int k = 0; k < d.keys().size(); k++) {
                    m.put(PyValue.str(eval(d.keys().get(k), scope)), eval(d.values().get(k), scope));
                }
                yield m;
            }
            case JinjaNode.Attr a -> builtins.attribute(eval(a.target(), scope), a.name());
            case JinjaNode.Item it -> builtins.item(eval(it.target(), scope), eval(it.key(), scope));
            case JinjaNode.Slice sl -> JinjaBuiltins.slice(eval(sl.target(), scope), optional(sl.start(), scope),
                    optional(sl.stop(), scope), optional(sl.step(), scope));
            case JinjaNode.Call c -> {
                Object fn = eval(c.fn(), scope);
                if (!(fn instanceof PyValue.Callable callable)) {
                    throw JinjaTemplate.error("'" + describe(c.fn()) + "' is not callable");
                }
                yield callable.call(evalAll(c.args(), scope), evalAll(c.kwargs(), scope));
            }
            case JinjaNode.Filter f -> builtins.filter(f.name(), eval(f.value(), scope), evalAll(f.args(), scope), evalAll(f.kwargs(), scope));
            case JinjaNode.Test t -> t.negated() != builtins.test(t.name(), eval(t.value(), scope), evalAll(t.args(), scope));
            case JinjaNode.Unary u -> switch (u.op()) {
                case "not" -> !PyValue.truthy(eval(u.operand(), scope));
                case "-" -> JinjaBuiltins.arithmetic("-", 0L, eval(u.operand(), scope));
                default -> throw JinjaTemplate.error("unknown unary operator " + u.op());
            };
            case JinjaNode.Binary b -> binary(b, scope);
            case JinjaNode.Cond c -> PyValue.truthy(eval(c.condition(), scope)) ? eval(c.then(), scope) : eval(c.otherwise(), scope);
        };
    }

    private Object binary(JinjaNode.Binary b, Scope scope) {
        Object left = eval(b.left(), scope);
        switch (b.op()) {
            case "and" -> {
                return PyValue.truthy(left) ? eval(b.right(), scope) : left;
            }
            case "or" -> {
                return PyValue.truthy(left) ? left : eval(b.right(), scope);
            }
            default -> {
            }
        }
        Object right = eval(b.right(), scope);
        return switch (b.op()) {
            case "==" -> PyValue.eq(left, right);
            case "!=" -> !PyValue.eq(left, right);
            case "<" -> compare(left, right) < 0;
            case "<=" -> compare(left, right) <= 0;
            case ">" -> compare(left, right) > 0;
            case ">=" -> compare(left, right) >= 0;
            case "in" -> JinjaBuiltins.contains(right, left);
            case "notin" -> !JinjaBuiltins.contains(right, left);
            case "~" -> PyValue.str(left) + PyValue.str(right);
            default -> JinjaBuiltins.arithmetic(b.op(), left, right);
        };
    }

    private static int compare(Object a, Object b) {
        try {
            return PyValue.compare(a, b);
        } catch (IllegalArgumentException e) {
            throw JinjaTemplate.error(e.getMessage());
        }
    }

    private Object optional(Expr e, Scope scope) {
        return e == null ? null : eval(e, scope);
    }

    private List<Object> evalAll(List<Expr> exprs, Scope scope) {
        List<Object> out = new ArrayList<>(exprs.size());
        for (Expr x : exprs) {
            out.add(eval(x, scope));
        }
        return out;
    }

    private Map<String, Object> evalAll(Map<String, Expr> exprs, Scope scope) {
        Map<String, Object> out = new LinkedHashMap<>();
        exprs.forEach((k, v) -> out.put(k, eval(v, scope)));
        return out;
    }

    private static String describe(Expr e) {
        return switch (e) {
            case JinjaNode.Name n -> n.name();
            case JinjaNode.Attr a -> describe(a.target()) + "." + a.name();
            default -> e.getClass().getSimpleName();
        };
    }
}
