package dev.loraforge.adapter;

import java.util.List;

/** What {@link AdapterCheck} found: errors stop a merge, warnings and notes are shown to the user. */
public record CheckReport(List<Finding> findings) {

    public enum Severity { ERROR, WARNING, INFO }

    /** @param kind the error kind for errors, null otherwise */
    public record Finding(Severity severity, AdapterException.Kind kind, String message) {
        @Override
        public String toString() {
            return severity.name().toLowerCase(java.util.Locale.ROOT) + ": " + message;
        }
    }

    public CheckReport {
        findings = List.copyOf(findings);
    }

    public List<Finding> errors() {
        return findings.stream().filter(f -> f.severity() == Severity.ERROR).toList();
    }

    public boolean ok() {
        return errors().isEmpty();
    }

    /** Throws the first error (its message says how many more there are). */
    public void throwIfErrors() {
        List<Finding> errors = errors();
        if (!errors.isEmpty()) {
            Finding f = errors.getFirst();
            String more = errors.size() > 1 ? " (and " + (errors.size() - 1) + " more problems; run 'loraforge check')" : "";
            throw new AdapterException(f.kind(), f.message() + more);
        }
    }
}
