package mocoref.testing;

import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Assumptions;

/**
 * For tests that need something the machine may lack (an installed dataset): without it the test
 * is skipped, saying what to install, except under {@code CI=true}, where a missing resource fails
 * the test, so that CI cannot pass by skipping it.
 */
public final class Resources {
    private Resources() {}

    public static void require(boolean present, String what) {
        if (present) return;
        if ("true".equals(System.getenv("CI"))) fail(what + " is missing, and CI=true requires it");
        Assumptions.assumeTrue(false, what + " is missing");
    }
}
