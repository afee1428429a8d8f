package jkgate.testapp;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * /app/echo and /app/echo/*, every method (GET, PATCH, PROPFIND, MKCOL, ...).
 *
 * Reply: key=value lines (format in Support) describing the request as Tomcat saw
 * it: node, jvmRoute, method, requestURI, queryString, protocol, scheme, secure,
 * serverName, serverPort, remoteAddr, remoteHost, remotePort, localAddr, localName,
 * localPort, contextPath, servletPath, pathInfo, authType, remoteUser, the requested
 * session id and where it came from, the session (if any), contentType,
 * contentLength, characterEncoding, cookie.NAME lines, headerCount and one
 * "header=Name: value" line per header value in arrival order (duplicates kept),
 * "attr.NAME=value" and "attrType.NAME=java class" for request attributes (AJP and
 * TLS ones probed by name, since getAttributeNames() does not list them), and
 * bodyLength and bodySha256 of the request body.
 *
 * Query controls (the body is never parsed as a form):
 *   status=NNN          reply with this status (204, 304, 503, ...)
 *   sleep=MS            sleep before replying (after the body was read)
 *   header=Name:Value   add a response header (repeatable, e.g. several Set-Cookie)
 *   session=1           create a session first
 *   attr=NAME           also report request attribute NAME (repeatable)
 *   noread=1            do not read the request body (the container swallows it)
 *   gen=N               reply with N bytes of the 64-byte PATTERN instead, no
 *                       Content-Length (unless cl=1), application/octet-stream
 *   flush=K             with gen: flush every K bytes, so the reply leaves in pieces
 *   pause=MS            with gen and flush: sleep MS after every flush
 *   cl=1                with gen: declare Content-Length: N
 *   mark=TEXT           record TEXT on arrival, before anything else (repeatable);
 *                       /app/marks lists what this node recorded
 */
public class EchoServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    /** Attributes the AJP connector and TLS set; probed by name. */
    private static final String[] PROBED_ATTRIBUTES = {
        "JK_LB_ACTIVATION",
        "AJP_LOCAL_ADDR",
        "AJP_REMOTE_PORT",
        "AJP_SSL_PROTOCOL",
        "jakarta.servlet.request.X509Certificate",
        "jakarta.servlet.request.cipher_suite",
        "jakarta.servlet.request.key_size",
        "jakarta.servlet.request.ssl_session_id",
        "jakarta.servlet.request.ssl_session",
        "jakarta.servlet.request.secure_protocol",
        "org.apache.tomcat.util.net.secure_protocol_version",
    };

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Map<String, List<String>> q = Support.parseQuery(req.getQueryString());
        Support.MARKS.addAll(Support.all(q, "mark"));

        Support.Body body = Support.flag(q, "noread") ? null : Support.Body.read(req.getInputStream());
        Support.sleepMillis(Support.longParam(q, "sleep", 0));
        if (Support.flag(q, "session")) {
            req.getSession(true);
        }

        resp.setStatus((int) Support.longParam(q, "status", 200));
        for (String h : Support.all(q, "header")) {
            int c = h.indexOf(':');
            if (c > 0) {
                resp.addHeader(h.substring(0, c).trim(), h.substring(c + 1).trim());
            }
        }

        long gen = Support.longParam(q, "gen", -1);
        if (gen >= 0) {
            generate(resp, Math.min(gen, 1L << 32), Support.longParam(q, "flush", 0),
                Support.longParam(q, "pause", 0), Support.flag(q, "cl"));
            return;
        }

        StringBuilder out = new StringBuilder(4096);
        Support.line(out, "node", Support.node());
        Support.line(out, "jvmRoute", Support.jvmRoute());
        Support.line(out, "method", req.getMethod());
        Support.line(out, "requestURI", req.getRequestURI());
        Support.line(out, "queryString", req.getQueryString());
        Support.line(out, "protocol", req.getProtocol());
        Support.line(out, "scheme", req.getScheme());
        Support.line(out, "secure", req.isSecure());
        Support.line(out, "serverName", req.getServerName());
        Support.line(out, "serverPort", req.getServerPort());
        Support.line(out, "remoteAddr", req.getRemoteAddr());
        Support.line(out, "remoteHost", req.getRemoteHost());
        Support.line(out, "remotePort", req.getRemotePort());
        Support.line(out, "localAddr", req.getLocalAddr());
        Support.line(out, "localName", req.getLocalName());
        Support.line(out, "localPort", req.getLocalPort());
        Support.line(out, "contextPath", req.getContextPath());
        Support.line(out, "servletPath", req.getServletPath());
        Support.line(out, "pathInfo", req.getPathInfo());
        Support.line(out, "authType", req.getAuthType());
        Support.line(out, "remoteUser", req.getRemoteUser());
        Support.line(out, "requestedSessionId", req.getRequestedSessionId());
        if (req.getRequestedSessionId() != null) {
            Support.line(out, "requestedSessionIdFromCookie", req.isRequestedSessionIdFromCookie());
            Support.line(out, "requestedSessionIdFromURL", req.isRequestedSessionIdFromURL());
            Support.line(out, "requestedSessionIdValid", req.isRequestedSessionIdValid());
        }
        HttpSession session = req.getSession(false);
        if (session != null) {
            Support.line(out, "sessionId", session.getId());
            Support.line(out, "sessionNew", session.isNew());
        }
        Support.line(out, "contentType", req.getContentType());
        Support.line(out, "contentLength", req.getContentLengthLong());
        Support.line(out, "characterEncoding", req.getCharacterEncoding());
        Cookie[] cookies = req.getCookies();
        if (cookies != null) {
            for (Cookie c : cookies) {
                Support.line(out, "cookie." + c.getName(), c.getValue());
            }
        }

        int count = 0;
        StringBuilder headers = new StringBuilder(1024);
        for (Enumeration<String> names = req.getHeaderNames(); names.hasMoreElements();) {
            String name = names.nextElement();
            for (Enumeration<String> vals = req.getHeaders(name); vals.hasMoreElements();) {
                Support.line(headers, "header", name + ": " + vals.nextElement());
                count++;
            }
        }
        Support.line(out, "headerCount", count);
        out.append(headers);

        Set<String> attrs = new LinkedHashSet<>(Collections.list(req.getAttributeNames()));
        Collections.addAll(attrs, PROBED_ATTRIBUTES);
        attrs.addAll(Support.all(q, "attr"));
        for (String name : attrs) {
            Object v = req.getAttribute(name);
            if (v == null) {
                continue;
            }
            Support.line(out, "attrType." + name, v.getClass().getName());
            if (v instanceof X509Certificate[]) {
                X509Certificate[] chain = (X509Certificate[]) v;
                Support.line(out, "attr." + name, "X509Certificate[" + chain.length + "]");
                for (int i = 0; i < chain.length; i++) {
                    Support.line(out, "attr." + name + "." + i + ".subject",
                        chain[i].getSubjectX500Principal().getName());
                }
            } else if (v instanceof Object[]) {
                Support.line(out, "attr." + name,
                    v.getClass().getComponentType().getName() + "[" + ((Object[]) v).length + "]");
            } else {
                Support.line(out, "attr." + name, v);
            }
        }

        if (body != null) {
            Support.line(out, "bodyLength", body.length);
            Support.line(out, "bodySha256", body.sha256);
        } else {
            Support.line(out, "bodyRead", false);
        }

        byte[] bytes = out.toString().getBytes(StandardCharsets.UTF_8);
        resp.setContentType("text/plain;charset=UTF-8");
        resp.setContentLength(bytes.length);
        resp.getOutputStream().write(bytes);
    }

    private static void generate(HttpServletResponse resp, long total, long flushEvery, long pause,
            boolean declareLength) throws IOException {
        resp.setContentType("application/octet-stream");
        if (declareLength) {
            resp.setContentLengthLong(total);
        }
        ServletOutputStream out = resp.getOutputStream();
        byte[] chunk = new byte[8192];
        long sent = 0;
        long sinceFlush = 0;
        int pos = 0;
        while (sent < total) {
            int n = (int) Math.min(chunk.length, total - sent);
            if (flushEvery > 0) {
                n = (int) Math.min(n, flushEvery - sinceFlush);
            }
            for (int i = 0; i < n; i++) {
                chunk[i] = Support.PATTERN[pos];
                pos = (pos + 1) % Support.PATTERN.length;
            }
            out.write(chunk, 0, n);
            sent += n;
            sinceFlush += n;
            if (flushEvery > 0 && sinceFlush >= flushEvery) {
                out.flush();
                sinceFlush = 0;
                Support.sleepMillis(pause);
            }
        }
    }
}
