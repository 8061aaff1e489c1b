package io.polyplex.net;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * What one class logs while a test runs, kept here instead of reaching the console (and the build
 * log): a test that provokes a warning on purpose asserts on it. {@link System.Logger} goes to
 * java.util.logging, the JDK's default, so the class's logger is the java.util.logging one of the
 * same name. Close it to hand the logger back.
 */
final class CapturedLog extends Handler implements AutoCloseable {

    private final Logger logger;
    private final boolean usedParentHandlers;
    private final List<LogRecord> records = new ArrayList<>();
    private final SimpleFormatter formatter = new SimpleFormatter();

    private CapturedLog(Logger logger) {
        this.logger = logger; // held here: java.util.logging keeps loggers only weakly
        this.usedParentHandlers = logger.getUseParentHandlers();
        logger.addHandler(this);
        logger.setUseParentHandlers(false);
    }

    /** Captures what {@code source} logs until closed. */
    static CapturedLog of(Class<?> source) {
        return new CapturedLog(Logger.getLogger(source.getName()));
    }

    @Override
    public synchronized void publish(LogRecord record) {
        records.add(record);
    }

    /** The messages logged at {@code level}, formatted (parameters filled in), in order. */
    synchronized List<String> messages(Level level) {
        List<String> out = new ArrayList<>();
        for (LogRecord r : records) {
            if (r.getLevel().equals(level)) {
                out.add(formatter.formatMessage(r));
            }
        }
        return out;
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        logger.removeHandler(this);
        logger.setUseParentHandlers(usedParentHandlers);
    }
}
