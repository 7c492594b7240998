package mocoref.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** The version Maven wrote into {@code mocoref/version.properties} at build time. */
final class ProjectVersion implements IVersionProvider {
    static final String RESOURCE = "/mocoref/version.properties";

    @Override
    public String[] getVersion() {
        return new String[] {"moco-ref " + version()};
    }

    /** The project version, or "(unknown version)" when running from unfiltered resources. */
    static String version() {
        Properties p = new Properties();
        try (InputStream in = ProjectVersion.class.getResourceAsStream(RESOURCE)) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            return "(unknown version)";
        }
        String v = p.getProperty("version", "");
        return v.isEmpty() || v.contains("${") ? "(unknown version)" : v;
    }
}
