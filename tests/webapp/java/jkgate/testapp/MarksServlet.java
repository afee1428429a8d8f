package jkgate.testapp;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * /app/marks: the mark=... values the echo servlet of this node received since the JVM
 * started, in arrival order. Reply: node, jvmRoute, count, then one "mark=TEXT" line
 * per recorded mark. Evidence for "this request did (not) reach this node".
 */
public class MarksServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        StringBuilder out = new StringBuilder(256);
        Support.line(out, "node", Support.node());
        Support.line(out, "jvmRoute", Support.jvmRoute());
        Object[] marks = Support.MARKS.toArray();
        Support.line(out, "count", marks.length);
        for (Object m : marks) {
            Support.line(out, "mark", (String) m);
        }
        byte[] body = out.toString().getBytes(StandardCharsets.UTF_8);
        resp.setContentType("text/plain;charset=UTF-8");
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }
}
