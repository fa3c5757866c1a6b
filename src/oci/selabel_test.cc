#include "oci/selabel.h"

#include <gtest/gtest.h>

#include <map>

#include "fstree/dumpfile.h"
#include "oci/apply.h"
#include "oci/transform.h"

namespace bootseal::oci {
namespace {

constexpr const char* kDigest = "aa00000000000000000000000000000000000000000000000000000000000000";

// A hand-written policy exercising regex lines, file-type fields, <<none>>,
// conflicting matches (the last one wins, even over a more specific earlier
// line) and a later spec file (.local) overriding the main one.
constexpr const char* kFileContexts =
    "# comment line\n"
    "\n"
    "/.*                      system_u:object_r:default_t:s0\n"
    "/                  -d    system_u:object_r:root_t:s0\n"
    "/usr(/.*)?               system_u:object_r:usr_t:s0\n"
    "/usr/bin(/.*)?           system_u:object_r:bin_t:s0\n"
    "/usr/bin/[a-z]+    -l    system_u:object_r:link_t:s0\n"
    "/usr/bin/sp\\.cial  --    system_u:object_r:special_t:s0\n"
    "/usr/lib/nolabel   --    <<none>>\n"
    "/var/lib/x         --    system_u:object_r:x_t:s0\n"
    "/var(/.*)?               system_u:object_r:var_t:s0\n"
    "/opt/[ad]          --    system_u:object_r:a_t:s0\n"
    "/opt/[bc]          --    system_u:object_r:b_t:s0\n"
    "/srv/fifo          -p    system_u:object_r:fifo_t:s0\n"
    "/srv/.*            -c    system_u:object_r:chr_t:s0\n"
    "/srv/.*            -b    system_u:object_r:blk_t:s0\n"
    "/srv/.*            -s    system_u:object_r:sock_t:s0\n";
constexpr const char* kLocal = "/usr/bin/local\t--\tsystem_u:object_r:local_t:s0\n";
// Exact-path aliases: /opt/alias is labelled as /usr/bin (and its children as
// /usr/bin/<name>); .subs_dist overrides .subs for the same alias.
constexpr const char* kSubs = "# subs\n/opt/alias /usr/bin\n/srv/web /usr\n";
constexpr const char* kSubsDist = "/srv/web /var\n";

std::string ext(const std::string& path, size_t size) {
  return fmt::format("{} {} 100644 1 0 0 0 0.0 aa/00 - {}\n", path, size, kDigest);
}

std::string policy_tree(const std::string& files) {
  return "/ 0 40755 2 0 0 0 0.0 - - - security.selinux=old_t\n"
         "/etc 0 40755 2 0 0 0 0.0 - - -\n"
         "/etc/selinux 0 40755 2 0 0 0 0.0 - - -\n"
         "/etc/selinux/config 48 100644 1 0 0 0 0.0 - #\\x20comment\\nSELINUX=enforcing\\n\\x20selinuxtype\\x20=\\x20tgt\\x20\\n - \n"
         "/etc/selinux/tgt 0 40755 2 0 0 0 0.0 - - -\n"
         "/etc/selinux/tgt/contexts 0 40755 2 0 0 0 0.0 - - -\n"
         "/etc/selinux/tgt/contexts/files 0 40755 2 0 0 0 0.0 - - -\n" +
         files;
}

ReadFileFn map_reader(std::map<std::string, std::string> files) {
  return [files](const std::string& path, const fstree::Node&) -> Result<Bytes> {
    auto it = files.find(path);
    if (it == files.end()) return input_error("unexpected read of {}", path);
    return Bytes(it->second.begin(), it->second.end());
  };
}

const std::string kDir = "/etc/selinux/tgt/contexts/files/";

Result<std::string> relabel(const std::string& dump, const ReadFileFn& read, bool* applied = nullptr) {
  fstree::Tree t = BS_TRY(fstree::parse_dumpfile(dump));
  bool a = BS_TRY(selinux_relabel(t, read));
  if (applied) *applied = a;
  finalize_links(t);
  return fstree::print_dumpfile(t);
}

TEST(Selabel, HandWrittenPolicy) {
  std::string files = ext(kDir + "file_contexts", strlen(kFileContexts)) + ext(kDir + "file_contexts.local", strlen(kLocal)) +
                      ext(kDir + "file_contexts.subs", strlen(kSubs)) +
                      ext(kDir + "file_contexts.subs_dist", strlen(kSubsDist));
  std::string rest =
      "/opt 0 40755 2 0 0 0 0.0 - - -\n"
      "/opt/a 1 100644 4 0 0 0 0.0 - a -\n"
      "/opt/alias 0 40755 2 0 0 0 0.0 - - -\n"
      "/opt/alias/tool 1 100755 1 0 0 0 0.0 - t -\n"
      "/opt/b 1 @100644 4 0 0 0 0.0 /opt/a - -\n"
      "/opt/c 1 @100644 4 0 0 0 0.0 /opt/a - -\n"
      "/opt/d 1 @100644 4 0 0 0 0.0 /opt/a - -\n"
      "/srv 0 40755 2 0 0 0 0.0 - - -\n"
      "/srv/blk 0 60644 1 0 0 259 0.0 - - -\n"
      "/srv/chr 0 20644 1 0 0 259 0.0 - - -\n"
      "/srv/fifo 0 10644 1 0 0 0 0.0 - - -\n"
      "/srv/sock 0 140644 1 0 0 0 0.0 - - -\n"
      "/srv/web 0 40755 2 0 0 0 0.0 - - -\n"
      "/srv/web/lib 0 40755 2 0 0 0 0.0 - - -\n"
      "/srv/web/lib/x 1 100644 1 0 0 0 0.0 - x -\n"
      "/usr 0 40755 2 0 0 0 0.0 - - -\n"
      "/usr/bin 0 40755 2 0 0 0 0.0 - - -\n"
      "/usr/bin/local 1 100644 1 0 0 0 0.0 - l -\n"
      "/usr/bin/ls 1 100755 1 0 0 0 0.0 - l -\n"
      "/usr/bin/sh 4 120777 1 0 0 0 0.0 bash - -\n"
      "/usr/bin/sp.cial 1 100644 1 0 0 0 0.0 - s -\n"
      "/usr/bin/spxcial 1 100644 1 0 0 0 0.0 - s -\n"
      "/usr/lib 0 40755 2 0 0 0 0.0 - - -\n"
      "/usr/lib/nolabel 1 100644 1 0 0 0 0.0 - n - security.selinux=old_t\n"
      "/var 0 40755 2 0 0 0 0.0 - - -\n"
      "/var/lib 0 40755 2 0 0 0 0.0 - - -\n"
      "/var/lib/x 1 100644 1 0 0 0 0.0 - x -\n";
  bool applied = false;
  auto out = relabel(policy_tree(files) + rest,
                     map_reader({{kDir + "file_contexts", kFileContexts},
                                 {kDir + "file_contexts.local", kLocal},
                                 {kDir + "file_contexts.subs", kSubs},
                                 {kDir + "file_contexts.subs_dist", kSubsDist}}),
                     &applied);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_TRUE(applied);
  EXPECT_EQ(*out,
            "/ 0 40755 7 0 0 0 0.0 - - - security.selinux=system_u:object_r:root_t:s0\n"
            "/etc 0 40755 3 0 0 0 0.0 - - - security.selinux=system_u:object_r:default_t:s0\n"
            "/etc/selinux 0 40755 3 0 0 0 0.0 - - - security.selinux=system_u:object_r:default_t:s0\n"
            "/etc/selinux/config 48 100644 1 0 0 0 0.0 - #\\x20comment\\nSELINUX=enforcing\\n\\x20selinuxtype\\x20=\\x20tgt\\x20\\n - security.selinux=system_u:object_r:default_t:s0\n"
            "/etc/selinux/tgt 0 40755 3 0 0 0 0.0 - - - security.selinux=system_u:object_r:default_t:s0\n"
            "/etc/selinux/tgt/contexts 0 40755 3 0 0 0 0.0 - - - security.selinux=system_u:object_r:default_t:s0\n"
            "/etc/selinux/tgt/contexts/files 0 40755 2 0 0 0 0.0 - - - security.selinux=system_u:object_r:default_t:s0\n"
            "/etc/selinux/tgt/contexts/files/file_contexts 784 100644 1 0 0 0 0.0 aa/00 - aa00000000000000000000000000000000000000000000000000000000000000 security.selinux=system_u:object_r:default_t:s0\n"
            "/etc/selinux/tgt/contexts/files/file_contexts.local 47 100644 1 0 0 0 0.0 aa/00 - aa00000000000000000000000000000000000000000000000000000000000000 security.selinux=system_u:object_r:default_t:s0\n"
            "/etc/selinux/tgt/contexts/files/file_contexts.subs 41 100644 1 0 0 0 0.0 aa/00 - aa00000000000000000000000000000000000000000000000000000000000000 security.selinux=system_u:object_r:default_t:s0\n"
            "/etc/selinux/tgt/contexts/files/file_contexts.subs_dist 14 100644 1 0 0 0 0.0 aa/00 - aa00000000000000000000000000000000000000000000000000000000000000 security.selinux=system_u:object_r:default_t:s0\n"
            "/opt 0 40755 3 0 0 0 0.0 - - - security.selinux=system_u:object_r:default_t:s0\n"
            "/opt/a 1 100644 2 0 0 0 0.0 - a - security.selinux=system_u:object_r:a_t:s0\n"
            "/opt/alias 0 40755 2 0 0 0 0.0 - - - security.selinux=system_u:object_r:bin_t:s0\n"
            "/opt/alias/tool 1 100755 1 0 0 0 0.0 - t - security.selinux=system_u:object_r:bin_t:s0\n"
            "/opt/b 1 100644 1 0 0 0 0.0 - a - security.selinux=system_u:object_r:b_t:s0\n"
            "/opt/c 1 100644 1 0 0 0 0.0 - a - security.selinux=system_u:object_r:b_t:s0\n"
            "/opt/d 1 @100644 2 0 0 0 0.0 /opt/a a - security.selinux=system_u:object_r:a_t:s0\n"
            "/srv 0 40755 3 0 0 0 0.0 - - - security.selinux=system_u:object_r:default_t:s0\n"
            "/srv/blk 0 60644 1 0 0 259 0.0 - - - security.selinux=system_u:object_r:blk_t:s0\n"
            "/srv/chr 0 20644 1 0 0 259 0.0 - - - security.selinux=system_u:object_r:chr_t:s0\n"
            "/srv/fifo 0 10644 1 0 0 0 0.0 - - - security.selinux=system_u:object_r:fifo_t:s0\n"
            "/srv/sock 0 140644 1 0 0 0 0.0 - - - security.selinux=system_u:object_r:sock_t:s0\n"
            "/srv/web 0 40755 3 0 0 0 0.0 - - - security.selinux=system_u:object_r:var_t:s0\n"
            "/srv/web/lib 0 40755 2 0 0 0 0.0 - - - security.selinux=system_u:object_r:var_t:s0\n"
            "/srv/web/lib/x 1 100644 1 0 0 0 0.0 - x - security.selinux=system_u:object_r:var_t:s0\n"
            "/usr 0 40755 4 0 0 0 0.0 - - - security.selinux=system_u:object_r:usr_t:s0\n"
            "/usr/bin 0 40755 2 0 0 0 0.0 - - - security.selinux=system_u:object_r:bin_t:s0\n"
            "/usr/bin/local 1 100644 1 0 0 0 0.0 - l - security.selinux=system_u:object_r:local_t:s0\n"
            "/usr/bin/ls 1 100755 1 0 0 0 0.0 - l - security.selinux=system_u:object_r:bin_t:s0\n"
            "/usr/bin/sh 4 120777 1 0 0 0 0.0 bash - - security.selinux=system_u:object_r:link_t:s0\n"
            "/usr/bin/sp.cial 1 100644 1 0 0 0 0.0 - s - security.selinux=system_u:object_r:special_t:s0\n"
            "/usr/bin/spxcial 1 100644 1 0 0 0 0.0 - s - security.selinux=system_u:object_r:bin_t:s0\n"
            "/usr/lib 0 40755 2 0 0 0 0.0 - - - security.selinux=system_u:object_r:usr_t:s0\n"
            "/usr/lib/nolabel 1 100644 1 0 0 0 0.0 - n -\n"
            "/var 0 40755 3 0 0 0 0.0 - - - security.selinux=system_u:object_r:var_t:s0\n"
            "/var/lib 0 40755 2 0 0 0 0.0 - - - security.selinux=system_u:object_r:var_t:s0\n"
            "/var/lib/x 1 100644 1 0 0 0 0.0 - x - security.selinux=system_u:object_r:var_t:s0\n");
}

TEST(Selabel, NoPolicyStripsLabels) {
  const std::string labelled =
      "/ 0 40755 2 0 0 0 0.0 - - - security.selinux=a_t\n"
      "/etc 0 40755 2 0 0 0 0.0 - - - security.selinux=b_t user.x=1\n";
  const std::string stripped =
      "/ 0 40755 3 0 0 0 0.0 - - -\n"
      "/etc 0 40755 2 0 0 0 0.0 - - - user.x=1\n";
  bool applied = true;
  // No etc/selinux at all.
  auto out = relabel(labelled + "/f 1 100644 1 0 0 0 0.0 - x - security.selinux=c_t\n", {}, &applied);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_FALSE(applied);
  EXPECT_EQ(*out, "/ 0 40755 3 0 0 0 0.0 - - -\n/etc 0 40755 2 0 0 0 0.0 - - - user.x=1\n/f 1 100644 1 0 0 0 0.0 - x -\n");
  // A config without SELINUXTYPE (a commented one does not count).
  out = relabel(labelled + "/etc/selinux 0 40755 2 0 0 0 0.0 - - - security.selinux=d_t\n"
                           "/etc/selinux/config 15 100644 1 0 0 0 0.0 - #SELINUXTYPE=x\\n - security.selinux=e_t\n",
                {}, &applied);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_FALSE(applied);
  EXPECT_EQ(*out, "/ 0 40755 3 0 0 0 0.0 - - -\n"
                  "/etc 0 40755 3 0 0 0 0.0 - - - user.x=1\n"
                  "/etc/selinux 0 40755 2 0 0 0 0.0 - - -\n"
                  "/etc/selinux/config 15 100644 1 0 0 0 0.0 - #SELINUXTYPE=x\\n -\n");
  (void)stripped;
}

TEST(Selabel, InlinePolicyThroughBootTransform) {
  // The whole boot transform with inline policy files (no reader needed):
  // the OCI transform's allowlist drops labels, the relabel puts them back.
  std::string dump =
      "/ 0 40755 2 0 0 0 0.0 - - -\n"
      "/boot 0 40755 2 0 0 0 5.0 - - -\n"
      "/etc 0 40755 2 0 0 0 0.0 - - -\n"
      "/etc/selinux 0 40755 2 0 0 0 0.0 - - -\n"
      "/etc/selinux/config 14 100644 1 0 0 0 0.0 - SELINUXTYPE=t\\n -\n"
      "/etc/selinux/t 0 40755 2 0 0 0 0.0 - - -\n"
      "/etc/selinux/t/contexts 0 40755 2 0 0 0 0.0 - - -\n"
      "/etc/selinux/t/contexts/files 0 40755 2 0 0 0 0.0 - - -\n"
      "/etc/selinux/t/contexts/files/file_contexts 18 100644 1 0 0 0 0.0 - /usr(/.*)?\\x20-d\\x20u_t\\n -\n"
      "/sysroot 0 40755 2 0 0 0 0.0 - - -\n"
      "/usr 0 40755 2 0 0 0 7.3 - - - security.selinux=old\n"
      "/usr/f 1 100644 1 0 0 0 0.0 - x - security.selinux=old\n";
  auto t = fstree::parse_dumpfile(dump);
  ASSERT_TRUE(t.ok()) << t.error().message();
  ASSERT_TRUE(transform_for_oci(*t, XattrMode::kAllowlist).ok());
  auto st = transform_for_boot(*t);
  ASSERT_TRUE(st.ok()) << st.error().message();
  finalize_links(*t);
  std::string out = fstree::print_dumpfile(*t);
  EXPECT_NE(out.find("/usr 0 40755 2 0 0 0 7.3 - - - security.selinux=u_t\n"), std::string::npos) << out;
  EXPECT_NE(out.find("/usr/f 1 100644 1 0 0 0 0.0 - x -\n"), std::string::npos) << out;  // -d only
  EXPECT_NE(out.find("/ 0 40755 6 0 0 0 7.3 - - -\n"), std::string::npos) << out;      // /usr's xattrs copied, then relabelled
}

TEST(Selabel, PolicyErrors) {
  auto err = [](const std::string& files, std::map<std::string, std::string> content = {}) {
    auto out = relabel(policy_tree(files), map_reader(std::move(content)));
    return out.ok() ? std::string("ok") : out.error().message();
  };
  EXPECT_NE(err("").find("file_contexts: missing"), std::string::npos) << err("");
  std::string fc = kDir + "file_contexts";
  auto one = [&](const std::string& text) { return err(ext(fc, text.size()), {{fc, text}}); };
  EXPECT_NE(one("/a -x t\n").find("line 1: invalid type code -x"), std::string::npos) << one("/a -x t\n");
  EXPECT_NE(one("\n/a\n").find("line 2: missing separator"), std::string::npos);
  EXPECT_NE(one("/a -- \n").find("missing context"), std::string::npos);
  EXPECT_NE(one("/a b c\n").find("trailing data"), std::string::npos);
  EXPECT_NE(one("/a( t\n").find("bad regex"), std::string::npos) << one("/a( t\n");
  EXPECT_EQ(one("/a t\n"), "ok");
  // External policy file without a reader.
  fstree::Tree t = *fstree::parse_dumpfile(policy_tree(ext(fc, 5)));
  auto r = selinux_relabel(t, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not available"), std::string::npos) << r.error().message();
  // SELINUXTYPE names a missing policy directory.
  auto bad = fstree::parse_dumpfile(
      "/ 0 40755 2 0 0 0 0.0 - - -\n/etc 0 40755 2 0 0 0 0.0 - - -\n/etc/selinux 0 40755 2 0 0 0 0.0 - - -\n"
      "/etc/selinux/config 14 100644 1 0 0 0 0.0 - SELINUXTYPE=x\\n -\n");
  ASSERT_TRUE(bad.ok());
  r = selinux_relabel(*bad, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("/etc/selinux/x: no such directory"), std::string::npos) << r.error().message();
}

TEST(Selabel, PrefixFilterKeepsRegexSemantics) {
  // Optional literals, escapes, alternation and braces must not be cut off
  // by the literal-prefix prefilter.
  std::string fc =
      "/ab?c      --  system_u:object_r:opt_t:s0\n"
      "/q\\.r     --  system_u:object_r:dot_t:s0\n"
      "/zz|/alt   --  system_u:object_r:alt_t:s0\n"
      "/n{2}o     --  system_u:object_r:brace_t:s0\n"
      "/dd*e      --  system_u:object_r:star_t:s0\n";
  std::string f = kDir + "file_contexts";
  std::string rest =
      "/ac 1 100644 1 0 0 0 0.0 - x -\n"
      "/alt 1 100644 1 0 0 0 0.0 - x -\n"
      "/de 1 100644 1 0 0 0 0.0 - x -\n"
      "/nno 1 100644 1 0 0 0 0.0 - x -\n"
      "/q.r 1 100644 1 0 0 0 0.0 - x -\n"
      "/qxr 1 100644 1 0 0 0 0.0 - x -\n";
  auto out = relabel(policy_tree(ext(f, fc.size())) + rest, map_reader({{f, fc}}));
  ASSERT_TRUE(out.ok()) << out.error().message();
  for (const char* want : {"/ac 1 100644 1 0 0 0 0.0 - x - security.selinux=system_u:object_r:opt_t:s0\n",
                           "/alt 1 100644 1 0 0 0 0.0 - x - security.selinux=system_u:object_r:alt_t:s0\n",
                           "/de 1 100644 1 0 0 0 0.0 - x - security.selinux=system_u:object_r:star_t:s0\n",
                           "/nno 1 100644 1 0 0 0 0.0 - x - security.selinux=system_u:object_r:brace_t:s0\n",
                           "/q.r 1 100644 1 0 0 0 0.0 - x - security.selinux=system_u:object_r:dot_t:s0\n",
                           "/qxr 1 100644 1 0 0 0 0.0 - x -\n"})
    EXPECT_NE(out->find(want), std::string::npos) << want << *out;
}

}  // namespace
}  // namespace bootseal::oci
