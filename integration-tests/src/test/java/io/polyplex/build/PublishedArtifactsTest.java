package io.polyplex.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * What a user who depends on Polyplex relies on, checked from the poms themselves: the BOM names
 * every published module at the project's version (it has no parent, so its version is written
 * twice and could drift) and the jnr stack at the versions the build pins, and every published
 * artifact carries the metadata Maven Central requires (name, description, url, license,
 * developers, scm), the BOM included. {@link BomConsumerTest} builds a project against the BOM.
 */
class PublishedArtifactsTest {

    /** A module is published unless its pom sets maven.deploy.skip (the BOM is checked apart). */
    private static boolean published(String module) throws Exception {
        if (module.equals("bom")) {
            return false;
        }
        Element properties = child(pom(ROOT.resolve(module).resolve("pom.xml")), "properties");
        return properties == null || !text(properties, "maven.deploy.skip").equals("true");
    }

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @Test
    void theBomListsEveryPublishedModuleAtTheProjectVersion() throws Exception {
        Element parent = pom(ROOT.resolve("pom.xml"));
        Element bom = pom(ROOT.resolve("bom/pom.xml"));
        assertEquals(text(parent, "version"), text(bom, "version"), "polyplex-bom's version");
        assertEquals("io.polyplex", text(bom, "groupId"));
        assertTrue(children(parent, "modules").contains("bom"), "the BOM is built with the rest");

        Set<String> published = new TreeSet<>();
        for (String module : children(parent, "modules")) {
            if (published(module)) {
                published.add(text(pom(ROOT.resolve(module).resolve("pom.xml")), "artifactId"));
            }
        }
        assertEquals(Set.of("polyplex-core", "polyplex-backend-epoll", "polyplex-backend-kqueue",
                "polyplex-backend-poll", "polyplex-backend-select", "polyplex-selector"), published);

        Set<String> managed = new TreeSet<>();
        for (Element d : managedDependencies(bom)) {
            if (text(d, "groupId").equals("io.polyplex")) {
                assertEquals("${project.version}", text(d, "version"), text(d, "artifactId"));
                managed.add(text(d, "artifactId"));
            }
        }
        assertEquals(published, managed, "the BOM's dependencyManagement");
        assertTrue(child(bom, "parent") == null, "an imported BOM must not inherit the build's pins");
    }

    /**
     * The BOM manages the jnr stack (and the ASM under jnr-ffi) at exactly the versions the build is
     * tested with: the parent's dependencyManagement, which a consumer's build never sees. Every jnr
     * or ASM artifact the parent manages is in the BOM at the same version (property values
     * resolved in each pom), and the BOM manages nothing else from outside the project (no JUnit,
     * no Mockito).
     */
    @Test
    void theBomManagesTheJnrStackAtTheVersionsTheBuildIsTestedWith() throws Exception {
        Map<String, String> parentPins = thirdPartyPins(pom(ROOT.resolve("pom.xml")));
        Map<String, String> bomPins = thirdPartyPins(pom(ROOT.resolve("bom/pom.xml")));
        Map<String, String> expected = new TreeMap<>();
        parentPins.forEach((k, v) -> {
            if (k.startsWith("com.github.jnr:") || k.startsWith("org.ow2.asm:")) {
                expected.put(k, v);
            }
        });
        assertEquals(expected, bomPins, "the BOM's jnr and ASM versions against the parent's");
        for (String a : List.of("com.github.jnr:jnr-ffi", "com.github.jnr:jffi", "com.github.jnr:jffi:native",
                "com.github.jnr:jnr-posix", "com.github.jnr:jnr-enxio", "com.github.jnr:jnr-constants",
                "com.github.jnr:jnr-unixsocket", "com.github.jnr:jnr-a64asm", "com.github.jnr:jnr-x86asm",
                "org.ow2.asm:asm", "org.ow2.asm:asm-commons", "org.ow2.asm:asm-analysis", "org.ow2.asm:asm-tree",
                "org.ow2.asm:asm-util")) {
            assertTrue(bomPins.containsKey(a), a + " is not managed by the BOM");
        }
        assertEquals(bomPins.get("com.github.jnr:jffi"), bomPins.get("com.github.jnr:jffi:native"),
                "jffi's Java and native halves must be one version");
    }

    /**
     * The README says where to get jnr-unixsocket, whose channels it says Polyplex watches: its
     * coordinates at the version the build is tested with (and the BOM manages).
     */
    @Test
    void theReadmeGivesJnrUnixsocketsCoordinatesAtTheTestedVersion() throws Exception {
        String version = thirdPartyPins(pom(ROOT.resolve("pom.xml"))).get("com.github.jnr:jnr-unixsocket");
        assertEquals(version, thirdPartyPins(pom(ROOT.resolve("bom/pom.xml"))).get("com.github.jnr:jnr-unixsocket"));
        String readme = Files.readString(ROOT.resolve("README.md"));
        assertTrue(readme.contains("`com.github.jnr:jnr-unixsocket:" + version + "`"),
                "the README does not give com.github.jnr:jnr-unixsocket:" + version);
        Matcher any = Pattern.compile("com\\.github\\.jnr:jnr-unixsocket:([\\w.-]+)").matcher(readme);
        while (any.find()) {
            assertEquals(version, any.group(1), "a jnr-unixsocket version in the README");
        }
    }

    /**
     * {@code groupId:artifactId[:classifier]} to version (its {@code ${property}} resolved from the
     * pom's own properties) of every managed dependency not of this project and not imported.
     */
    static Map<String, String> thirdPartyPins(Element pom) {
        Map<String, String> properties = new HashMap<>();
        Element props = child(pom, "properties");
        for (Node n = props == null ? null : props.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element) {
                properties.put(((Element) n).getTagName(), n.getTextContent().trim());
            }
        }
        Map<String, String> pins = new TreeMap<>();
        for (Element d : managedDependencies(pom)) {
            if (text(d, "groupId").equals("io.polyplex") || text(d, "scope").equals("import")) {
                continue;
            }
            String key = text(d, "groupId") + ":" + text(d, "artifactId")
                    + (text(d, "classifier").isEmpty() ? "" : ":" + text(d, "classifier"));
            String version = text(d, "version");
            Matcher m = Pattern.compile("\\$\\{([^}]+)}").matcher(version);
            if (m.matches()) {
                assertTrue(properties.containsKey(m.group(1)), key + ": no property " + m.group(1));
                version = properties.get(m.group(1));
            }
            assertTrue(pins.put(key, version) == null, key + " is managed twice");
        }
        return pins;
    }

    private static List<Element> managedDependencies(Element pom) {
        List<Element> out = new ArrayList<>();
        NodeList deps = child(child(pom, "dependencyManagement"), "dependencies").getElementsByTagName("dependency");
        for (int i = 0; i < deps.getLength(); i++) {
            out.add((Element) deps.item(i));
        }
        return out;
    }

    @Test
    void everyPublishedPomCarriesWhatMavenCentralRequires() throws Exception {
        Element parent = pom(ROOT.resolve("pom.xml"));
        for (Element p : List.of(parent, pom(ROOT.resolve("bom/pom.xml")))) {
            for (String field : List.of("name", "description", "url")) {
                assertFalse(text(p, field).isBlank(), field);
            }
            Element license = (Element) child(p, "licenses").getElementsByTagName("license").item(0);
            assertEquals("Apache-2.0", text(license, "name"));
            assertTrue(child(p, "developers").getElementsByTagName("developer").getLength() > 0);
            assertFalse(text(child(p, "scm"), "connection").isBlank());
        }
        for (String module : children(parent, "modules")) {
            if (published(module)) {
                Element m = pom(ROOT.resolve(module).resolve("pom.xml"));
                assertFalse(text(m, "name").isBlank(), module);
                assertEquals("polyplex-parent", text(child(m, "parent"), "artifactId"), module + " inherits url, licenses, scm");
            }
        }
        assertTrue(Files.readString(ROOT.resolve("LICENSE")).contains("Apache License"));
        assertTrue(Files.readString(ROOT.resolve("NOTICE")).contains("jnr-ffi"));
    }

    /**
     * Core's published Javadoc is the API a user can import: {@code io.polyplex}, {@code .net} and
     * {@code .spi}. {@code io.polyplex.internal}, exported only to the backend modules, has no page
     * and no page links into it.
     */
    @Test
    void coresJavadocJarLeavesOutTheInternalPackage() throws Exception {
        String version = text(pom(ROOT.resolve("pom.xml")), "version");
        Path jar = ROOT.resolve("core/target/polyplex-core-" + version + "-javadoc.jar");
        assertTrue(Files.exists(jar), jar + " is missing: run the build's package phase first");
        Set<String> pages = new TreeSet<>();
        String elementList;
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            elementList = new String(zip.getInputStream(zip.getEntry("element-list")).readAllBytes(), StandardCharsets.UTF_8);
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                pages.add(e.getName());
                if (e.getName().endsWith(".html") || e.getName().endsWith(".js")) {
                    String page = new String(zip.getInputStream(e).readAllBytes(), StandardCharsets.UTF_8);
                    assertFalse(page.contains("io/polyplex/internal/"), e.getName() + " links into io.polyplex.internal");
                }
            }
        }
        assertEquals(List.of("module:io.polyplex", "io.polyplex", "io.polyplex.net", "io.polyplex.spi"),
                elementList.lines().collect(java.util.stream.Collectors.toList()), "the documented packages");
        assertTrue(pages.contains("io.polyplex/io/polyplex/EventQueue.html"), "EventQueue's page");
        assertTrue(pages.contains("io.polyplex/io/polyplex/net/BlockingSockets.html"), "BlockingSockets' page");
        assertTrue(pages.stream().noneMatch(p -> p.contains("/internal/")), "pages of io.polyplex.internal");
    }

    private static Element pom(Path file) throws Exception {
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
        return doc.getDocumentElement();
    }

    /** The direct child element of that name, or null. */
    private static Element child(Element parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element && ((Element) n).getTagName().equals(name)) {
                return (Element) n;
            }
        }
        return null;
    }

    private static String text(Element parent, String name) {
        Element e = child(parent, name);
        return e == null ? "" : e.getTextContent().trim();
    }

    private static List<String> children(Element parent, String name) {
        List<String> out = new ArrayList<>();
        Element e = child(parent, name);
        for (Node n = e == null ? null : e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element) {
                out.add(n.getTextContent().trim());
            }
        }
        return out;
    }
}
