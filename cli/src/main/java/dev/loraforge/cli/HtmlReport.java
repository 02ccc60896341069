package dev.loraforge.cli;

import dev.loraforge.model.Compare;
import dev.loraforge.model.StructuralDiff;
import dev.loraforge.model.Verification;
import java.util.List;
import java.util.Locale;

/**
 * The self-contained HTML page of {@code verify --html}: the verdict, the metrics, inline SVG plots
 * (per-layer hidden-state error on a log scale, histogram of per-position log10 KL) and the tensor diff.
 * No scripts, no external resources.
 */
final class HtmlReport {

    private static final int W = 560;
    private static final int H = 220;
    private static final int PAD = 40;

    private HtmlReport() {
    }

    static String render(Verification.Result r) {
        StringBuilder sb = new StringBuilder(16_384);
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>loraforge verify</title>\n")
                .append("<style>body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}")
                .append("table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}")
                .append("td:first-child,th:first-child{text-align:left}.ok{color:#060}.bad{color:#a00}")
                .append("svg{background:#fafafa;border:1px solid #ddd}</style></head><body>\n");
        sb.append("<h1>loraforge verify</h1>\n");
        sb.append("<p class=\"").append(r.equivalent() ? "ok" : "bad").append("\"><b>").append(esc(r.verdictLine())).append("</b></p>\n");
        sb.append("<p>reference: <code>").append(esc(r.reference())).append("</code><br>candidate: <code>")
                .append(esc(r.candidate())).append("</code> (kind ").append(esc(r.candidateKind())).append(")</p>\n");
        if (!r.problems().isEmpty()) {
            sb.append("<ul>");
            r.problems().forEach(p -> sb.append("<li class=\"bad\">").append(esc(p)).append("</li>"));
            sb.append("</ul>\n");
        }
        if (r.compared()) {
            metrics(sb, r);
        }
        StructuralDiff.Result s = r.structure();
        if (s != null) {
            sb.append("<h2>Tensors</h2>\n<p>").append(esc(s.summary())).append("</p>\n");
            for (String m : s.missing()) {
                sb.append("<p class=\"bad\">missing: <code>").append(esc(m)).append("</code></p>\n");
            }
            for (String m : s.extra()) {
                sb.append("<p>extra: <code>").append(esc(m)).append("</code></p>\n");
            }
            sb.append("<table><tr><th>tensor</th><th>shape</th><th>types</th><th>ref mean</th><th>ref std</th>")
                    .append("<th>ref max|x|</th><th>cand mean</th><th>cand std</th><th>cand max|x|</th>")
                    .append("<th>values differing</th><th>max |d|</th><th>rel</th></tr>\n");
            for (StructuralDiff.Entry e : s.entries()) {
                sb.append("<tr").append(e.identical() ? "" : " class=\"bad\"").append("><td>").append(esc(e.name()))
                        .append("</td><td>").append(esc(e.shapeDiffers() ? e.shape() + " vs " + e.candidateShape() : e.shape().toString()))
                        .append("</td><td>").append(esc(e.refType() + " / " + e.candType())).append("</td><td>")
                        .append(num(e.reference().mean())).append("</td><td>").append(num(e.reference().std())).append("</td><td>")
                        .append(num(e.reference().maxAbs())).append("</td><td>").append(num(e.candidate().mean())).append("</td><td>")
                        .append(num(e.candidate().std())).append("</td><td>").append(num(e.candidate().maxAbs())).append("</td><td>")
                        .append(e.diffCount()).append("</td><td>").append(num(e.maxAbsDiff())).append("</td><td>")
                        .append(num(e.relRms())).append("</td></tr>\n");
            }
            sb.append("</table>\n");
        }
        if (!r.tokenizerProblems().isEmpty()) {
            sb.append("<h2>Tokenizer</h2>\n<ul>");
            r.tokenizerProblems().forEach(p -> sb.append("<li class=\"bad\">").append(esc(p)).append("</li>"));
            sb.append("</ul>\n");
        }
        return sb.append("</body></html>\n").toString();
    }

    private static void metrics(StringBuilder sb, Verification.Result r) {
        Compare.LogitStats l = r.logits();
        sb.append("<h2>Metrics</h2>\n<table>\n");
        row(sb, "positions", String.valueOf(l.positions()));
        row(sb, "max |&Delta;logit|", num(l.maxAbsDiff()));
        row(sb, "mean |&Delta;logit|", num(l.meanAbsDiff()));
        row(sb, "KL mean", num(l.klMean()));
        row(sb, "KL p99", num(l.klP99()));
        row(sb, "KL max", num(l.klMax()));
        row(sb, "top-1 agreement", pct(l.top1Agreement()));
        row(sb, "top-1 agreement (near-ties agree)", pct(r.top1NearTie()));
        row(sb, "perplexity reference", num(r.pplReference()));
        row(sb, "perplexity candidate", num(r.pplCandidate()));
        row(sb, "thresholds", esc(r.thresholds().toString()));
        sb.append("</table>\n");
        sb.append("<h2>Per-layer hidden-state error</h2>\n").append(layerPlot(r.layers()));
        sb.append("<h2>KL divergence per position</h2>\n").append(klHistogram(r.klPerPosition()));
        sb.append("<h2>Sequences</h2>\n<table><tr><th>sequence</th><th>tokens</th><th>KL mean</th><th>KL max</th>")
                .append("<th>top-1</th><th>ppl ref</th><th>ppl cand</th></tr>\n");
        for (Verification.Sequence s : r.sequences()) {
            sb.append("<tr><td>").append(esc(s.label())).append("</td><td>").append(s.tokens()).append("</td><td>")
                    .append(num(s.logits().klMean())).append("</td><td>").append(num(s.logits().klMax())).append("</td><td>")
                    .append(pct(s.logits().top1Agreement())).append("</td><td>").append(num(s.pplReference()))
                    .append("</td><td>").append(num(s.pplCandidate())).append("</td></tr>\n");
        }
        sb.append("</table>\n");
    }

    /** Mean (line) and max (dots) relative error per layer, log10 y axis. */
    static String layerPlot(List<Compare.LayerError> layers) {
        StringBuilder sb = svgStart("per-layer relative error");
        int n = layers.size();
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (Compare.LayerError e : layers) {
            for (double v : new double[] {e.meanRelative(), e.maxRelative()}) {
                if (v > 0 && Double.isFinite(v)) {
                    lo = Math.min(lo, Math.log10(v));
                    hi = Math.max(hi, Math.log10(v));
                }
            }
        }
        if (lo > hi) {
            lo = -1;
            hi = 0;  // all zero: an empty plot with a sane axis
        }
        lo = Math.floor(lo);
        hi = Math.max(lo + 1, Math.ceil(hi));
        axes(sb, "layer", "log10 relative error", lo, hi);
        StringBuilder path = new StringBuilder();
        for (int i = 0; i < n; i++) {
            double x = PAD + (n == 1 ? 0 : (double) i / (n - 1)) * (W - 2 * PAD);
            double mean = layers.get(i).meanRelative();
            double max = layers.get(i).maxRelative();
            if (mean > 0 && Double.isFinite(mean)) {
                path.append(path.isEmpty() ? "M" : "L").append(f(x)).append(',').append(f(y(Math.log10(mean), lo, hi)));
            }
            if (max > 0 && Double.isFinite(max)) {
                sb.append("<circle cx=\"").append(f(x)).append("\" cy=\"").append(f(y(Math.log10(max), lo, hi)))
                        .append("\" r=\"3\" fill=\"#c33\"><title>layer ").append(i).append(" max ").append(num(max)).append("</title></circle>\n");
            }
            sb.append("<text x=\"").append(f(x)).append("\" y=\"").append(H - PAD + 14).append("\" font-size=\"10\" text-anchor=\"middle\">")
                    .append(i == n - 1 ? "norm" : String.valueOf(i)).append("</text>\n");
        }
        if (!path.isEmpty()) {
            sb.append("<path d=\"").append(path).append("\" fill=\"none\" stroke=\"#36c\" stroke-width=\"2\"/>\n");
        }
        return sb.append("</svg>\n").toString();
    }

    /** Histogram of log10 KL per position (zero KL in the leftmost bin). */
    static String klHistogram(double[] kl) {
        StringBuilder sb = svgStart("KL histogram");
        int bins = 20;
        double lo = -16;
        double hi = 1;
        for (double v : kl) {
            if (v > 0 && Double.isFinite(v)) {
                hi = Math.max(hi, Math.ceil(Math.log10(v)));
            }
        }
        int[] counts = new int[bins];
        for (double v : kl) {
            double lv = v > 0 ? Math.log10(v) : lo;
            int b = Double.isNaN(lv) ? bins - 1 : (int) Math.floor((Math.max(lo, lv) - lo) / (hi - lo) * bins);
            counts[Math.min(bins - 1, Math.max(0, b))]++;
        }
        int max = 1;
        for (int c : counts) {
            max = Math.max(max, c);
        }
        axes(sb, "log10 KL (nats), " + f(lo) + " to " + f(hi), "positions", 0, max);
        double bw = (W - 2.0 * PAD) / bins;
        for (int b = 0; b < bins; b++) {
            double h = (double) counts[b] / max * (H - 2 * PAD);
            sb.append("<rect x=\"").append(f(PAD + b * bw + 1)).append("\" y=\"").append(f(H - PAD - h)).append("\" width=\"")
                    .append(f(bw - 2)).append("\" height=\"").append(f(h)).append("\" fill=\"#36c\"><title>")
                    .append(counts[b]).append(" positions, log10 KL ").append(f(lo + b * (hi - lo) / bins)).append(" to ")
                    .append(f(lo + (b + 1) * (hi - lo) / bins)).append("</title></rect>\n");
        }
        return sb.append("</svg>\n").toString();
    }

    private static StringBuilder svgStart(String label) {
        return new StringBuilder("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + W + "\" height=\"" + H
                + "\" viewBox=\"0 0 " + W + " " + H + "\" role=\"img\" aria-label=\"" + esc(label) + "\">\n");
    }

    private static void axes(StringBuilder sb, String xLabel, String yLabel, double lo, double hi) {
        sb.append("<line x1=\"").append(PAD).append("\" y1=\"").append(H - PAD).append("\" x2=\"").append(W - PAD)
                .append("\" y2=\"").append(H - PAD).append("\" stroke=\"#444\"/>\n");
        sb.append("<line x1=\"").append(PAD).append("\" y1=\"").append(PAD).append("\" x2=\"").append(PAD)
                .append("\" y2=\"").append(H - PAD).append("\" stroke=\"#444\"/>\n");
        sb.append("<text x=\"").append(PAD - 4).append("\" y=\"").append(PAD + 4).append("\" font-size=\"10\" text-anchor=\"end\">")
                .append(f(hi)).append("</text>\n");
        sb.append("<text x=\"").append(PAD - 4).append("\" y=\"").append(H - PAD).append("\" font-size=\"10\" text-anchor=\"end\">")
                .append(f(lo)).append("</text>\n");
        sb.append("<text x=\"").append(W / 2).append("\" y=\"").append(H - 6).append("\" font-size=\"11\" text-anchor=\"middle\">")
                .append(esc(xLabel)).append("</text>\n");
        sb.append("<text x=\"12\" y=\"").append(H / 2).append("\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 12 ")
                .append(H / 2).append(")\">").append(esc(yLabel)).append("</text>\n");
    }

    private static double y(double v, double lo, double hi) {
        return H - PAD - (v - lo) / (hi - lo) * (H - 2 * PAD);
    }

    private static String f(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.4g", v);
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.2f%%", 100 * v);
    }

    private static void row(StringBuilder sb, String k, String v) {
        sb.append("<tr><td>").append(k).append("</td><td>").append(v).append("</td></tr>\n");
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
