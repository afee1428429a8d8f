package jkgate.testapp;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * /app/health: an application health page that a test can switch to failing.
 * GET answers the current status (200 at start) with "node=...", "health=UP" (status
 * below 400) or "health=DOWN". "?set=NNN" switches this JVM's answer to NNN from now on
 * and answers 200 "set=NNN" (send it to the node's own HTTP connector).
 */
public class HealthServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    /** The status GET answers, for the whole JVM. */
    private static volatile int status = 200;

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Map<String, List<String>> query = Support.parseQuery(req.getQueryString());
        StringBuilder out = new StringBuilder(128);
        Support.line(out, "node", Support.node());
        int answer;
        List<String> set = query.get("set");
        if (set != null && !set.isEmpty()) {
            status = Integer.parseInt(set.get(set.size() - 1));
            Support.line(out, "set", status);
            answer = 200;
        } else {
            answer = status;
            Support.line(out, "health", answer < 400 ? "UP" : "DOWN");
        }
        byte[] body = out.toString().getBytes(StandardCharsets.UTF_8);
        resp.setStatus(answer);
        resp.setContentType("text/plain;charset=UTF-8");
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }
}
