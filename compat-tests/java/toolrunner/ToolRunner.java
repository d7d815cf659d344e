// ToolRunner runs Apache Kafka's command-line tools (their main classes) one
// after another in a single JVM, so that a test pays for one JVM start-up
// rather than one per command. Started by compat-tests/kafka_tools_test.go as
//
//   java -cp 'var/kafka-3.9/lib/*' compat-tests/java/toolrunner/ToolRunner.java OUTDIR
//
// It reads one command per line on stdin, fields separated by tabs:
//
//   ID <tab> STDIN-FILE or "-" <tab> MAIN-CLASS <tab> ARG...
//
// runs MAIN-CLASS.main(ARG...) with System.in read from STDIN-FILE, writes
// what the command printed to OUTDIR/ID.out and OUTDIR/ID.err, and answers
// "DONE ID CODE" on its own stdout. CODE is the status the tool passed to
// Kafka's Exit.exit (the first one, as the process would have ended there),
// 0 if main returned, or 99 if main threw.
import java.io.*;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.Arrays;

public class ToolRunner {
    /** Thrown by the exit procedure in place of ending the JVM. */
    static final class ExitSignal extends Error {
        ExitSignal() { super("tool called Exit.exit", null, false, false); }
    }

    /** An output stream whose target changes between commands. */
    static final class Switch extends OutputStream {
        volatile OutputStream target = OutputStream.nullOutputStream();
        @Override public void write(int b) throws IOException { target.write(b); }
        @Override public void write(byte[] b, int off, int len) throws IOException { target.write(b, off, len); }
        @Override public void flush() throws IOException { target.flush(); }
    }

    static volatile Integer exitCode;
    static final Switch out = new Switch(), err = new Switch();

    public static void main(String[] argv) throws Exception {
        Path dir = Paths.get(argv[0]);
        PrintStream control = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        // Replace the standard streams before any Kafka or Scala class reads
        // them (scala.Console keeps the System.out it first saw).
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        org.apache.kafka.common.utils.Exit.Procedure stop = (code, message) -> {
            if (exitCode == null) {
                exitCode = code;
                if (message != null) System.err.println(message);
                // The process would have ended here: what the tool prints
                // after this (catching the signal) is not its output.
                System.out.flush();
                System.err.flush();
                out.target = OutputStream.nullOutputStream();
                err.target = OutputStream.nullOutputStream();
            }
            throw new ExitSignal();
        };
        org.apache.kafka.common.utils.Exit.setExitProcedure(stop);
        org.apache.kafka.common.utils.Exit.setHaltProcedure(stop);
        org.apache.kafka.common.utils.Exit.setShutdownHookAdder((name, hook) -> { });

        String line;
        while ((line = commands.readLine()) != null) {
            if (line.isEmpty()) continue;
            String[] f = line.split("\t", -1);
            String id = f[0];
            String[] args = Arrays.copyOfRange(f, 3, f.length);
            int code;
            try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(dir.resolve(id + ".out")));
                 OutputStream e = new BufferedOutputStream(Files.newOutputStream(dir.resolve(id + ".err")))) {
                out.target = o;
                err.target = e;
                System.setIn(f[1].equals("-") ? InputStream.nullInputStream() : new FileInputStream(f[1]));
                exitCode = null;
                code = run(f[2], args);
                System.out.flush();
                System.err.flush();
                out.target = OutputStream.nullOutputStream();
                err.target = OutputStream.nullOutputStream();
            }
            control.println("DONE " + id + " " + code);
        }
    }

    static int run(String mainClass, String[] args) {
        try {
            Method m = Class.forName(mainClass).getMethod("main", String[].class);
            m.invoke(null, (Object) args);
        } catch (InvocationTargetException ite) {
            Throwable t = ite.getCause();
            if (!(t instanceof ExitSignal) && exitCode == null) {
                t.printStackTrace();
                return 99;
            }
        } catch (ExitSignal s) {
            // exitCode is set
        } catch (Throwable t) {
            t.printStackTrace();
            return 99;
        }
        return exitCode == null ? 0 : exitCode;
    }
}
