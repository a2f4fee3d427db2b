/*
 * Verdicts.java - event-ruler's verdicts for a golden corpus (evkit's own
 * harness; it only calls event-ruler's public API).
 *
 *   java -cp ER_CLASSPATH:DIR Verdicts FILE.cases > FILE.verdicts
 *
 * A corpus is a list of groups.  In FILE.cases, blank lines and lines
 * starting with '#' are ignored; "= NAME" starts a group; "p TEXT" adds a
 * pattern and "e TEXT" an event to it (TEXT is the rest of the line, taken
 * byte for byte).  Every pattern of a group is tried on every event of it.
 *
 * One verdict line per case, fields separated by a tab:
 *   NAME.pI          ok                    the pattern compiles
 *   NAME.pI          ok  complexity N      ... and has wildcards (N from
 *                                          MachineComplexityEvaluator)
 *   NAME.pI          error  REASON         JsonRuleCompiler refuses it, or
 *                                          Machine.addRule throws ("internal
 *                                          error: CLASS" for a crash)
 *   NAME.pI.eJ       match | nomatch       rulesForJSONEvent's verdict
 *   NAME.pI.eJ       error  REASON         the event is refused
 * I and J count from 1 in their group.  REASON is the first line of the
 * exception's message (Jackson appends the location on a second line).
 */
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import software.amazon.event.ruler.JsonRuleCompiler;
import software.amazon.event.ruler.Machine;
import software.amazon.event.ruler.MachineComplexityEvaluator;
import software.amazon.event.ruler.MatchType;
import software.amazon.event.ruler.Patterns;

public final class Verdicts {
    private static final int MAX_COMPLEXITY = 10000;

    private Verdicts() {}

    private static final class Group {
        final String name;
        final List<String> patterns = new ArrayList<>();
        final List<String> events = new ArrayList<>();

        Group(String name) {
            this.name = name;
        }
    }

    private static String reason(Throwable e) {
        String m = String.valueOf(e.getLocalizedMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    private static List<Group> read(String path) throws Exception {
        List<Group> groups = new ArrayList<>();
        Group g = null;
        int lineno = 0;

        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                Files.newInputStream(Paths.get(path)), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                lineno++;
                if (line.isEmpty() || line.startsWith("#"))
                    continue;
                if (line.startsWith("= ")) {
                    g = new Group(line.substring(2));
                    groups.add(g);
                } else if (g != null && line.startsWith("p ")) {
                    g.patterns.add(line.substring(2));
                } else if (g != null && line.startsWith("e ")) {
                    g.events.add(line.substring(2));
                } else {
                    throw new IllegalArgumentException(path + ":" + lineno
                        + ": expected '= NAME', 'p PATTERN' or 'e EVENT'");
                }
            }
        }
        return groups;
    }

    private static boolean hasWildcard(Map<String, List<Patterns>> rule) {
        for (List<Patterns> ps : rule.values())
            for (Patterns p : ps)
                if (p.type() == MatchType.WILDCARD || p.type() == MatchType.ANYTHING_BUT_WILDCARD)
                    return true;
        return false;
    }

    /* The complexity of the pattern's wildcard sub-rules, or -1 if none. */
    private static int complexity(String pattern) throws Exception {
        Machine m = new Machine();
        int n = 0;

        for (Map<String, List<Patterns>> rule : JsonRuleCompiler.compile(pattern))
            if (hasWildcard(rule))
                m.addPatternRule(Integer.toString(++n), rule);
        if (n == 0)
            return -1;
        return m.evaluateComplexity(new MachineComplexityEvaluator(MAX_COMPLEXITY));
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: Verdicts FILE.cases");
            System.exit(2);
        }
        PrintStream out = new PrintStream(System.out, false, "UTF-8");
        for (Group g : read(args[0])) {
            for (int i = 0; i < g.patterns.size(); i++) {
                String pat = g.patterns.get(i), id = g.name + ".p" + (i + 1);
                Machine m = new Machine();
                String why = JsonRuleCompiler.check(pat);

                if (why == null) {
                    try {
                        m.addRule("r", pat);
                    } catch (IllegalArgumentException | java.io.IOException e) {
                        why = reason(e);
                    } catch (RuntimeException e) {
                        /* a crash inside event-ruler: its text names
                         * compiler-made locals, so keep the class only */
                        why = "internal error: " + e.getClass().getName();
                    }
                } else {
                    int nl = why.indexOf('\n');
                    if (nl >= 0)
                        why = why.substring(0, nl);
                }
                if (why != null) {
                    out.print(id + "\terror\t" + why + "\n");
                    continue;
                }
                int c = complexity(pat);
                out.print(id + "\tok" + (c < 0 ? "" : "\tcomplexity " + c) + "\n");
                for (int j = 0; j < g.events.size(); j++) {
                    String v;
                    try {
                        v = m.rulesForJSONEvent(g.events.get(j)).isEmpty() ? "nomatch" : "match";
                    } catch (Exception e) {
                        v = "error\t" + reason(e);
                    }
                    out.print(id + ".e" + (j + 1) + "\t" + v + "\n");
                }
            }
        }
        out.flush();
        if (out.checkError()) {
            System.err.println("Verdicts: write error");
            System.exit(2);
        }
    }
}
