#include "oci/reference.h"

#include <gtest/gtest.h>

#include "crypto/pem.h"
#include "oci/transport.h"

namespace bootseal::oci {
namespace {

ByteSpan bs(const std::string& s) { return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

// Expected values as containers/image's docker/reference ParseNormalizedNamed
// gives them (and skopeo inspect prints as "Name").
TEST(DockerReference, NormalizesAsSkopeo) {
  struct Case {
    const char* in;
    const char* registry;
    const char* repo;
    const char* tag;
  } cases[] = {
      {"busybox", "docker.io", "library/busybox", "latest"},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36"},
      {"foo/bar:v1", "docker.io", "foo/bar", "v1"},
      {"docker.io/busybox", "docker.io", "library/busybox", "latest"},
      {"index.docker.io/foo/bar", "docker.io", "foo/bar", "latest"},
      {"localhost/x", "localhost", "x", "latest"},
      {"127.0.0.1:5000/test/small:v1", "127.0.0.1:5000", "test/small", "v1"},
      {"quay.io/fedora/fedora-bootc:41", "quay.io", "fedora/fedora-bootc", "41"},
      {"[::1]:5000/a/b", "[::1]:5000", "a/b", "latest"},
      {"Host/x", "Host", "x", "latest"},
  };
  for (auto& c : cases) {
    auto r = parse_docker_reference(c.in);
    ASSERT_TRUE(r.ok()) << c.in << ": " << r.error().message();
    EXPECT_EQ(r->registry, c.registry) << c.in;
    EXPECT_EQ(r->repository, c.repo) << c.in;
    EXPECT_EQ(*r->tag, c.tag) << c.in;
  }
  auto d = parse_docker_reference("h:5000/x@sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->tag);
  EXPECT_EQ(d->manifest_ref(), "sha256:" + std::string(64, 'a'));
  EXPECT_EQ(parse_docker_reference("busybox")->api_host(), "registry-1.docker.io");
}

TEST(DockerReference, RejectsBadNames) {
  for (const char* s : {"", "//h/x", "h:5000/X", "h/x:", "h/x:bad tag", "x@sha256:12", "h/x:t@sha256:" ,
                        "h/-x", "h/x//y", "h:5000/"}) {
    EXPECT_FALSE(parse_docker_reference(s).ok()) << s;
  }
  EXPECT_FALSE(parse_docker_reference("h/x:t@sha256:" + std::string(64, 'a')).ok());
  EXPECT_FALSE(parse_docker_reference("h/" + std::string(300, 'a')).ok());
}

TEST(DockerReference, SourceName) {
  auto n = parse_source_name("docker://127.0.0.1:5000/a/b:t");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->transport, Transport::kDocker);
  EXPECT_EQ(n->docker->str(), "127.0.0.1:5000/a/b:t");
  EXPECT_FALSE(parse_source_name("docker:busybox").ok());
}

TEST(WwwAuthenticate, Challenges) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params["realm"], "https://auth.example/token");
  EXPECT_EQ(c[0].params["service"], "registry.example");
  EXPECT_EQ(c[0].params["scope"], "repository:a/b:pull,push");
  c = parse_www_authenticate(R"(Basic realm="test-realm")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params["realm"], "test-realm");
  c = parse_www_authenticate(R"(Basic realm="a\"b", Bearer realm=x,error="insufficient_scope")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].params["realm"], "a\"b");
  EXPECT_EQ(c[1].params["realm"], "x");
  EXPECT_EQ(c[1].params["error"], "insufficient_scope");
  EXPECT_TRUE(parse_www_authenticate("").empty());
  parse_www_authenticate("\"\"==,,=\"");  // no crash
}

TEST(RegistryErrors, Text) {
  EXPECT_EQ(registry_error_text(bs(R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]})")),
            "unauthorized: authentication required");
  EXPECT_EQ(registry_error_text(bs(R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"},{"code":"X"}]})")),
            "manifest unknown: manifest unknown; x");
  EXPECT_EQ(registry_error_text(bs("<html>")), "");
  EXPECT_EQ(registry_error_text(bs(R"({"errors":3})")), "");
}

TEST(AuthFile, FindsCredentials) {
  std::string up = crypto::base64_encode(bs("alice:s3cret"));
  std::string j = R"({"auths":{"127.0.0.1:5001":{"auth":")" + up + R"("},
    "127.0.0.1:5001/team/special":{"auth":")" + crypto::base64_encode(bs("bob:pw:with:colons")) + R"("},
    "https://index.docker.io/v1/":{"auth":")" + crypto::base64_encode(bs("d:h")) + R"("}}})";
  auto c = find_credentials(bs(j), "127.0.0.1:5001", "test/small");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(*c);
  EXPECT_EQ((*c)->username, "alice");
  EXPECT_EQ((*c)->password, "s3cret");
  c = find_credentials(bs(j), "127.0.0.1:5001", "team/special/x");
  ASSERT_TRUE(c.ok() && *c);
  EXPECT_EQ((*c)->username, "bob");
  EXPECT_EQ((*c)->password, "pw:with:colons");
  c = find_credentials(bs(j), "docker.io", "library/busybox");
  ASSERT_TRUE(c.ok() && *c);
  EXPECT_EQ((*c)->username, "d");
  c = find_credentials(bs(j), "other:1", "x");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(*c);
  EXPECT_FALSE(find_credentials(bs("[]"), "a", "b").ok());
  EXPECT_FALSE(find_credentials(bs(R"({"auths":{"a":{"auth":"!!"}}})"), "a", "b").ok());
  EXPECT_TRUE(find_credentials(bs("{}"), "a", "b").ok());
  auto cr = parse_creds("u:p:q");
  ASSERT_TRUE(cr.ok());
  EXPECT_EQ(cr->password, "p:q");
  EXPECT_FALSE(parse_creds(":x").ok());
}

TEST(Token, Response) {
  auto t = parse_token_response(bs(R"({"token":"abc","expires_in":300})"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->token, "abc");
  EXPECT_EQ(t->expires_in, 300);
  t = parse_token_response(bs(R"({"access_token":"x"})"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->expires_in, 60);
  EXPECT_FALSE(parse_token_response(bs(R"({"token":""})")).ok());
  EXPECT_FALSE(parse_token_response(bs(R"({"token":"a\nb"})")).ok());
  EXPECT_EQ(parse_content_range_start("bytes 6-12/44"), 6u);
  EXPECT_FALSE(parse_content_range_start("bytes */44"));
}

}  // namespace
}  // namespace bootseal::oci
