package io.polyplex.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * What a user who depends on Polyplex relies on, checked from the poms themselves: the BOM names
 * every published module at the project's version (it has no parent, so its version is written
 * twice and could drift), and every published artifact carries the metadata Maven Central requires
 * (name, description, url, license, developers, scm), the BOM included.
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
        Element dm = child(bom, "dependencyManagement");
        NodeList deps = child(dm, "dependencies").getElementsByTagName("dependency");
        for (int i = 0; i < deps.getLength(); i++) {
            Element d = (Element) deps.item(i);
            assertEquals("io.polyplex", text(d, "groupId"));
            assertEquals("${project.version}", text(d, "version"), text(d, "artifactId"));
            managed.add(text(d, "artifactId"));
        }
        assertEquals(published, managed, "the BOM's dependencyManagement");
        assertTrue(child(bom, "parent") == null, "an imported BOM must not inherit the build's pins");
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
