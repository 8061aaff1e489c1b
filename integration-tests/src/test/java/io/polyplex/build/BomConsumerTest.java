package io.polyplex.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * A project that depends on Polyplex as the README says, built outside this reactor: only the
 * artifacts this build packaged (the parent and BOM poms, core's, the backends' and the selector's
 * poms and jars)
 * are installed, as {@code mvn install} would lay them out, into a local repository of its own; every
 * other artifact comes from the user's local repository offered as a {@code file://} remote (no
 * network: Maven runs offline, with file URLs allowed). Inside the reactor the parent's
 * dependencyManagement pins the jnr stack for every module, the examples included, which hides what
 * a consumer gets: without the BOM's pins Maven's nearest-wins takes jffi's native jar at jnr-ffi's
 * 1.4.7 beside core's jffi 1.4.3, so this build failed to resolve (there is no 1.4.7 native jar).
 *
 * <p>The consumer's pom is made of the README's own snippets (the {@code bom} and {@code
 * dependencies} regions of examples/pom.xml, which ReadmeExamplesTest keeps equal to the README),
 * its module requires {@code io.polyplex}, and its program opens an event queue and polls a socket
 * pair. Checked: what Maven resolved (every third-party artifact at the version the BOM, and so the
 * parent, pins; jffi's two halves at one version), and that the program runs on the module path with
 * the README's narrowest native-access grant and prints nothing on stderr.
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BomConsumerTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Pattern RESOLVED = Pattern.compile("^\\s+([^:\\s]+):([^:\\s]+):jar(?::([^:\\s]+))?:([^:\\s]+):(compile|runtime)\\b.*$");

    @Test
    void aProjectOutsideTheBuildResolvesTheTestedStackAndRunsOnTheModulePathWithoutAWarning(@TempDir Path dir) throws Exception {
        Element parent = pom(ROOT.resolve("pom.xml"));
        String version = text(parent, "version");
        Path repo = dir.resolve("repository");
        install(repo, "polyplex-parent", version, ROOT.resolve("pom.xml"), null);
        install(repo, "polyplex-bom", version, ROOT.resolve("bom/pom.xml"), null);
        for (String module : List.of("core", "backend-epoll", "backend-kqueue", "backend-poll", "backend-select", "selector")) {
            String artifact = "polyplex-" + module;
            install(repo, artifact, version, ROOT.resolve(module).resolve("pom.xml"),
                    ROOT.resolve(module).resolve("target").resolve(artifact + "-" + version + ".jar"));
        }

        Path project = dir.resolve("consumer");
        writeProject(project, parent);
        Path settings = dir.resolve("settings.xml");
        String userRepository = Path.of(System.getProperty("polyplex.localRepository",
                System.getProperty("user.home") + "/.m2/repository")).toUri().toString();
        Files.writeString(settings, "<settings>\n  <profiles><profile><id>user-repository</id>\n"
                + "    <repositories><repository><id>central</id><url>" + userRepository + "</url>\n"
                + "      <releases><checksumPolicy>ignore</checksumPolicy></releases><snapshots><enabled>false</enabled></snapshots>\n"
                + "    </repository></repositories>\n"
                + "    <pluginRepositories><pluginRepository><id>central</id><url>" + userRepository + "</url>\n"
                + "      <releases><checksumPolicy>ignore</checksumPolicy></releases><snapshots><enabled>false</enabled></snapshots>\n"
                + "    </pluginRepository></pluginRepositories>\n"
                + "  </profile></profiles>\n  <activeProfiles><activeProfile>user-repository</activeProfile></activeProfiles>\n</settings>\n");

        Path log = dir.resolve("maven.log");
        List<String> maven = new ArrayList<>(List.of(mavenCommand(), "-B", "-o", "-Daether.offline.protocols=file",
                "-s", settings.toString(), "-Dmaven.repo.local=" + repo,
                "compile", "dependency:list", "dependency:build-classpath",
                "-DincludeScope=runtime", "-DoutputFile=resolved.txt", "-Dmdep.outputFile=classpath.txt"));
        ProcessBuilder build = new ProcessBuilder(maven).directory(project.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        build.environment().put("JAVA_HOME", System.getProperty("java.home"));
        build.environment().remove("MAVEN_ARGS");
        build.environment().remove("MAVEN_OPTS");
        Process mvn = build.start();
        assertTrue(mvn.waitFor(240, TimeUnit.SECONDS), "the consumer's build did not finish in 240 s");
        String mavenLog = tail(log);
        assertEquals(0, mvn.exitValue(), () -> "the consumer's build failed:\n" + mavenLog);

        // What Maven resolved for the consumer, against what the BOM pins (equal to the parent's:
        // PublishedArtifactsTest).
        Map<String, String> pins = PublishedArtifactsTest.thirdPartyPins(pom(ROOT.resolve("bom/pom.xml")));
        Map<String, String> resolved = new TreeMap<>();
        for (String line : Files.readAllLines(project.resolve("resolved.txt"))) {
            Matcher m = RESOLVED.matcher(line);
            if (m.matches()) {
                resolved.put(m.group(1) + ":" + m.group(2) + (m.group(3) == null ? "" : ":" + m.group(3)), m.group(4));
            }
        }
        String jffi = text(child(parent, "properties"), "jffi.version");
        assertEquals(jffi, resolved.get("com.github.jnr:jffi"), "jffi: " + resolved);
        assertEquals(jffi, resolved.get("com.github.jnr:jffi:native"), "jffi's native jar: " + resolved);
        for (String polyplex : List.of("polyplex-core", "polyplex-backend-epoll", "polyplex-backend-kqueue", "polyplex-backend-poll", "polyplex-selector")) {
            assertEquals(version, resolved.get("io.polyplex:" + polyplex), polyplex + ": " + resolved);
        }
        for (Map.Entry<String, String> e : resolved.entrySet()) {
            if (!e.getKey().startsWith("io.polyplex:")) {
                assertEquals(pins.get(e.getKey()), e.getValue(), e.getKey() + " is not at the version the BOM pins");
            }
        }
        assertTrue(resolved.keySet().containsAll(List.of("com.github.jnr:jnr-ffi", "com.github.jnr:jnr-posix",
                "com.github.jnr:jnr-enxio", "com.github.jnr:jnr-constants", "org.ow2.asm:asm")), resolved.toString());

        // The program on the module path with the README's narrowest grant: no warning, nothing on stderr.
        String modulePath = project.resolve("target/classes") + File.pathSeparator
                + Files.readString(project.resolve("classpath.txt")).trim();
        Run granted = run(dir, "granted", "--enable-native-access=org.jnrproject.jffi", "-p", modulePath,
                "-m", "example.consumer/example.consumer.Main");
        assertEquals(0, granted.status, () -> "the consumer failed: " + granted.err);
        assertTrue(granted.out.matches("one event from (epoll|kqueue|poll|select)\\R"), granted.out);
        assertEquals("", granted.err, "stderr of the consumer on the module path with the grant");
        if (Runtime.version().feature() >= 22) {
            // Without the grant the JVM warns, and names the module that needs it: the grant above is
            // what silenced it, and the module is called what the README says.
            Run bare = run(dir, "bare", "-p", modulePath, "-m", "example.consumer/example.consumer.Main");
            assertEquals(0, bare.status, () -> "the consumer failed: " + bare.err);
            assertTrue(bare.err.contains("--enable-native-access=org.jnrproject.jffi"), bare.err);
        }
    }

    /** Lays one artifact out as {@code mvn install} does: {@code group/artifact/version/artifact-version.ext}. */
    private static void install(Path repo, String artifact, String version, Path pom, Path jar) throws Exception {
        Path at = repo.resolve("io/polyplex").resolve(artifact).resolve(version);
        Files.createDirectories(at);
        Files.copy(pom, at.resolve(artifact + "-" + version + ".pom"));
        if (jar != null) {
            assertTrue(Files.exists(jar), jar + " is missing: this test needs the build's package phase");
            Files.copy(jar, at.resolve(artifact + "-" + version + ".jar"));
        }
    }

    /**
     * The consumer: the README's BOM import and dependencies, plugin versions as pinned by the parent
     * (so that they are in the user's repository already), a module that requires io.polyplex, and
     * a program that opens a queue and polls one readable socket.
     */
    private static void writeProject(Path project, Element parent) throws Exception {
        String examples = Files.readString(ROOT.resolve("examples/pom.xml"));
        StringBuilder plugins = new StringBuilder();
        for (String plugin : List.of("maven-resources-plugin", "maven-compiler-plugin", "maven-dependency-plugin")) {
            plugins.append("      <plugin><groupId>org.apache.maven.plugins</groupId><artifactId>").append(plugin)
                    .append("</artifactId><version>").append(pluginVersion(parent, plugin)).append("</version></plugin>\n");
        }
        Files.createDirectories(project.resolve("src/main/java/example/consumer"));
        Files.writeString(project.resolve("pom.xml"), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                + "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n"
                + "  <modelVersion>4.0.0</modelVersion>\n"
                + "  <groupId>example</groupId>\n  <artifactId>consumer</artifactId>\n  <version>1</version>\n"
                + "  <properties>\n    <maven.compiler.release>17</maven.compiler.release>\n"
                + "    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>\n  </properties>\n"
                + region(examples, "bom")
                + "  <dependencies>\n" + region(examples, "dependencies") + "  </dependencies>\n"
                + "  <build>\n    <pluginManagement>\n      <plugins>\n" + plugins
                + "      </plugins>\n    </pluginManagement>\n  </build>\n</project>\n");
        Files.writeString(project.resolve("src/main/java/module-info.java"),
                "module example.consumer {\n    requires io.polyplex;\n}\n");
        Files.writeString(project.resolve("src/main/java/example/consumer/Main.java"), String.join("\n",
                "package example.consumer;",
                "",
                "import io.polyplex.EventQueue;",
                "import io.polyplex.EventQueues;",
                "import io.polyplex.net.NativeSockets;",
                "import java.nio.ByteBuffer;",
                "import java.time.Duration;",
                "import java.util.concurrent.atomic.AtomicInteger;",
                "import jnr.enxio.channels.NativeSelectableChannel;",
                "import jnr.enxio.channels.NativeSocketChannel;",
                "",
                "public final class Main {",
                "    public static void main(String[] args) throws Exception {",
                "        NativeSocketChannel[] pair = NativeSockets.socketPair();",
                "        try (EventQueue<NativeSelectableChannel> queue = EventQueues.open(NativeSelectableChannel::getFD)) {",
                "            queue.subscribeRead(pair[0]);",
                "            pair[1].write(ByteBuffer.wrap(new byte[] {42}));",
                "            AtomicInteger events = new AtomicInteger();",
                "            queue.poll(Duration.ofSeconds(30), (ch, ops) -> events.incrementAndGet());",
                "            System.out.println((events.get() == 1 ? \"one event\" : events.get() + \" events\") + \" from \" + queue.backend());",
                "        } finally {",
                "            pair[0].close();",
                "            pair[1].close();",
                "        }",
                "    }",
                "}",
                ""));
        // The same JVM options as this build's Maven (JDK 24+ otherwise warns about Maven's own Unsafe use).
        Files.createDirectories(project.resolve(".mvn"));
        Files.copy(ROOT.resolve(".mvn/jvm.config"), project.resolve(".mvn/jvm.config"));
    }

    /** The Maven that runs this build (it is installed: no download), else the wrapper. */
    private static String mavenCommand() {
        String home = System.getProperty("polyplex.maven.home", "");
        Path mvn = Path.of(home, "bin", "mvn");
        return !home.isEmpty() && Files.isExecutable(mvn) ? mvn.toString() : ROOT.resolve("mvnw").toString();
    }

    private static String pluginVersion(Element parent, String artifactId) {
        Element plugins = child(child(child(parent, "build"), "pluginManagement"), "plugins");
        for (Node n = plugins.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element && text((Element) n, "artifactId").equals(artifactId)) {
                return text((Element) n, "version");
            }
        }
        throw new AssertionError(artifactId + " is not pinned in the parent pom");
    }

    /** The lines between {@code <!-- readme:begin NAME -->} and {@code <!-- readme:end NAME -->}. */
    private static String region(String xml, String name) {
        int begin = xml.indexOf("<!-- readme:begin " + name + " -->");
        int end = xml.indexOf("<!-- readme:end " + name + " -->");
        assertTrue(begin >= 0 && end > begin, "examples/pom.xml has no region " + name);
        return xml.substring(xml.indexOf('\n', begin) + 1, xml.lastIndexOf('\n', end) + 1);
    }

    private record Run(int status, String out, String err) {}

    private static Run run(Path dir, String name, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(args));
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the consumer did not finish in 60 s");
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private static String tail(Path log) throws java.io.IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    private static Element pom(Path file) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile()).getDocumentElement();
    }

    private static Element child(Element parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element && ((Element) n).getTagName().equals(name)) {
                return (Element) n;
            }
        }
        throw new AssertionError("no <" + name + "> in <" + parent.getTagName() + ">");
    }

    private static String text(Element parent, String name) {
        return child(parent, name).getTextContent().trim();
    }
}
