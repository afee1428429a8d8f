package jkgate.testapp;

import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Helpers shared by the test servlets: query controls, the line format of the
 * replies, the deterministic byte pattern and body hashing.
 *
 * Reply format: one "key=value" line per fact. Values are escaped so that every
 * reply is plain ASCII and one line per key: backslash as "\\", LF as "\n", CR as
 * "\r", any other char outside 0x20..0x7E as "\xHH" (up to 0xFF), above that as a
 * backslash followed by "u{HHHH}".
 * A null value is not printed at all (the key is absent); an empty one is "key=".
 */
final class Support {
    private Support() {
    }

    /** 64 bytes repeated by gen=N; the fixture writes the static files with the same bytes. */
    static final byte[] PATTERN =
        "jkgate-test-data-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH\n"
            .getBytes(StandardCharsets.US_ASCII);

    /**
     * Every mark=... query value the echo servlet received, in arrival order (recorded
     * before the body is read); /app/marks lists them. Lets a test prove that a request
     * did or did not reach a node.
     */
    static final java.util.Queue<String> MARKS = new java.util.concurrent.ConcurrentLinkedQueue<>();

    /** The node name given to the JVM by the fixture (-Djkgate.node=...). */
    static String node() {
        return System.getProperty("jkgate.node", "");
    }

    /** The Engine jvmRoute given to the JVM by the fixture (-Djkgate.jvmRoute=...). */
    static String jvmRoute() {
        return System.getProperty("jkgate.jvmRoute", "");
    }

    /** Query parameters decoded from the raw query string, repeated keys kept in order. */
    static Map<String, List<String>> parseQuery(String qs) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        if (qs == null || qs.isEmpty()) {
            return m;
        }
        for (String part : qs.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            String k = eq >= 0 ? part.substring(0, eq) : part;
            String v = eq >= 0 ? part.substring(eq + 1) : "";
            m.computeIfAbsent(decode(k), x -> new ArrayList<>()).add(decode(v));
        }
        return m;
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }

    static List<String> all(Map<String, List<String>> q, String k) {
        return q.getOrDefault(k, Collections.emptyList());
    }

    static String first(Map<String, List<String>> q, String k) {
        List<String> l = q.get(k);
        return (l == null || l.isEmpty()) ? null : l.get(0);
    }

    static long longParam(Map<String, List<String>> q, String k, long dflt) {
        String v = first(q, k);
        if (v == null) {
            return dflt;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    static boolean flag(Map<String, List<String>> q, String k) {
        return "1".equals(first(q, k));
    }

    static void sleepMillis(long ms) {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(Math.min(ms, 120_000L));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Length and SHA-256 of a request body. */
    static final class Body {
        final long length;
        final String sha256;

        Body(long length, String sha256) {
            this.length = length;
            this.sha256 = sha256;
        }

        static Body read(InputStream in) throws IOException {
            MessageDigest md = sha256();
            long n = 0;
            byte[] buf = new byte[16384];
            int r;
            while ((r = in.read(buf)) > 0) {
                md.update(buf, 0, r);
                n += r;
            }
            return new Body(n, hex(md.digest()));
        }
    }

    static MessageDigest sha256() throws IOException {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IOException(e);
        }
    }

    static String hex(byte[] d) {
        StringBuilder b = new StringBuilder(d.length * 2);
        for (byte x : d) {
            b.append(Character.forDigit((x >> 4) & 0xf, 16)).append(Character.forDigit(x & 0xf, 16));
        }
        return b.toString();
    }

    /** Appends "key=escaped(value)\n", or nothing when value is null. */
    static void line(StringBuilder out, String key, Object value) {
        if (value == null) {
            return;
        }
        out.append(key).append('=');
        escape(out, String.valueOf(value));
        out.append('\n');
    }

    static void escape(StringBuilder out, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                out.append("\\\\");
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c >= 0x20 && c <= 0x7e) {
                out.append(c);
            } else if (c <= 0xff) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(String.format("\\u{%04x}", (int) c));
            }
        }
    }
}
