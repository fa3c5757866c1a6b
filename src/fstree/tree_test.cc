#include "fstree/tree.h"

#include <gtest/gtest.h>

namespace bootseal::fstree {
namespace {

TEST(Tree, ChildrenSortedAndValidated) {
  NodePtr root = make_dir();
  ASSERT_TRUE(root->add_child("b", make_node(base::kIfReg | 0644)).ok());
  ASSERT_TRUE(root->add_child("a", make_node(base::kIfReg | 0644)).ok());
  ASSERT_TRUE(root->add_child("-x", make_node(base::kIfReg | 0644)).ok());
  ASSERT_TRUE(root->add_child("\xff", make_node(base::kIfReg | 0644)).ok());
  std::vector<std::string> names;
  for (auto& e : root->children) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"-x", "a", "b", "\xff"}));  // bytewise
  EXPECT_FALSE(root->add_child("a", make_node(base::kIfReg)).ok());
  EXPECT_FALSE(root->add_child("", make_node(base::kIfReg)).ok());
  EXPECT_FALSE(root->add_child(".", make_node(base::kIfReg)).ok());
  EXPECT_FALSE(root->add_child("..", make_node(base::kIfReg)).ok());
  EXPECT_FALSE(root->add_child("x/y", make_node(base::kIfReg)).ok());
  EXPECT_FALSE(root->add_child(std::string(256, 'n'), make_node(base::kIfReg)).ok());
  EXPECT_FALSE(root->find_child("a")->node->add_child("c", make_node(base::kIfReg)).ok());  // not a dir
  EXPECT_TRUE(root->remove_child("b"));
  EXPECT_FALSE(root->remove_child("b"));
}

TEST(Tree, LookupWalkCloneEqual) {
  Tree t{make_dir()};
  NodePtr d = make_dir();
  NodePtr f = make_node(base::kIfReg | 0644);
  f->set_xattr("user.a", "1");
  ASSERT_TRUE(t.root->add_child("d", d).ok());
  ASSERT_TRUE(d->add_child("f", f).ok());
  ASSERT_TRUE(t.root->add_child("link", f, true).ok());
  EXPECT_EQ(lookup(t, "/d/f"), f);
  EXPECT_EQ(lookup(t, "d//f"), f);
  EXPECT_EQ(lookup(t, "/"), t.root);
  EXPECT_EQ(lookup(t, "/nope"), nullptr);
  EXPECT_EQ(lookup(t, "/d/../d"), nullptr);
  std::vector<std::string> paths;
  walk(t, [&](const std::string& p, const Entry*, const Node&) {
    paths.push_back(p);
    return true;
  });
  EXPECT_EQ(paths, (std::vector<std::string>{"/", "/d", "/d/f", "/link"}));
  TreeStats s = stats(t);
  EXPECT_EQ(s.inodes, 3u);
  EXPECT_EQ(s.entries, 4u);
  Tree c = clone(t);
  std::string why;
  EXPECT_TRUE(equal(t, c, &why)) << why;
  EXPECT_NE(lookup(c, "/d/f"), f);
  EXPECT_EQ(lookup(c, "/d/f"), lookup(c, "/link"));  // sharing preserved
  lookup(c, "/d/f")->set_xattr("user.a", "2");
  EXPECT_FALSE(equal(t, c, &why));
  EXPECT_NE(why.find("xattrs"), std::string::npos);
}

TEST(Tree, XattrReplaceOrder) {
  Node n;
  n.set_xattr("user.a", "1");
  n.set_xattr("user.b", "2");
  n.set_xattr("user.c", "3");
  n.set_xattr("user.a", "4");  // libcomposefs: last moves into the hole, new one appended
  ASSERT_EQ(n.xattrs.size(), 3u);
  EXPECT_EQ(n.xattrs[0].name, "user.c");
  EXPECT_EQ(n.xattrs[1].name, "user.b");
  EXPECT_EQ(n.xattrs[2].name, "user.a");
  n.sort_xattrs();
  EXPECT_EQ(n.xattrs[0].name, "user.a");
  EXPECT_TRUE(n.remove_xattr("user.b"));
  EXPECT_EQ(n.find_xattr("user.b"), nullptr);
}

}  // namespace
}  // namespace bootseal::fstree
