package jkgate.testapp;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * /app/session: a per-session counter, for sticky-session and failover tests.
 *
 * Each request creates the session if needed and increments its counter. Reply
 * (key=value lines): node, jvmRoute, sessionId, sessionRoute (the part after the
 * last '.'), counter, isNew, requestedSessionId, requestedSessionIdFromCookie,
 * requestedSessionIdFromURL, encodedURL (this page's URL as the container would
 * rewrite it for a client without cookies).
 * ?invalidate=1 ends the current session instead (reply: node, invalidated=ID).
 */
public class SessionServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Map<String, List<String>> q = Support.parseQuery(req.getQueryString());
        StringBuilder out = new StringBuilder(512);
        Support.line(out, "node", Support.node());
        Support.line(out, "jvmRoute", Support.jvmRoute());
        if (Support.flag(q, "invalidate")) {
            HttpSession s = req.getSession(false);
            if (s != null) {
                Support.line(out, "invalidated", s.getId());
                s.invalidate();
            }
        } else {
            HttpSession s = req.getSession(true);
            Integer prev = (Integer) s.getAttribute("counter");
            int counter = prev == null ? 1 : prev + 1;
            s.setAttribute("counter", counter);
            String id = s.getId();
            int dot = id.lastIndexOf('.');
            Support.line(out, "sessionId", id);
            Support.line(out, "sessionRoute", dot >= 0 ? id.substring(dot + 1) : "");
            Support.line(out, "counter", counter);
            Support.line(out, "isNew", s.isNew());
            Support.line(out, "requestedSessionId", req.getRequestedSessionId());
            Support.line(out, "requestedSessionIdFromCookie", req.isRequestedSessionIdFromCookie());
            Support.line(out, "requestedSessionIdFromURL", req.isRequestedSessionIdFromURL());
            Support.line(out, "encodedURL", resp.encodeURL(req.getRequestURI()));
        }
        byte[] body = out.toString().getBytes(StandardCharsets.UTF_8);
        resp.setContentType("text/plain;charset=UTF-8");
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }
}
