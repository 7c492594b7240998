package mocoref;

/**
 * Says on stdout what a training process is about to do ("phase step 3"), only when the system
 * property {@code mocoref.phases} is set, and then pauses {@code mocoref.phases.pause}
 * milliseconds (default 0). The kill-anywhere test ({@code KillAnywhereTest}) runs training in a
 * child JVM with these set and kills it at the phases it chooses; without the property each call
 * is one branch on a constant.
 */
public final class Phases {
    private static final boolean ON = System.getProperty("mocoref.phases") != null;
    private static final long PAUSE_MS = Long.getLong("mocoref.phases.pause", 0);

    private Phases() {}

    public static void mark(String phase) {
        if (!ON) return;
        synchronized (System.out) {
            System.out.println("phase " + phase);
            System.out.flush();
        }
        if (PAUSE_MS > 0) {
            try {
                Thread.sleep(PAUSE_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
