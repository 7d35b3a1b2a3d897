/* test_cli.c — runs the built `bud` binary ("$BUILD/bud", default build/release-gcc) on
 * temporary .npy files: eval (printing and -o), explain, help and version, and every kind of error
 * with its exit code (1 error, 2 usage) and message. Skips, with the reason, if the binary is
 * missing.
 */
#define _GNU_SOURCE
#include "check.h"
#include "front/npy.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char bud_bin[512], tmpdir[64];
static char out_text[1 << 16], err_text[1 << 16];

static void slurp(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  size_t n = 0;
  if (f) {
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
  }
  buf[n] = '\0';
}

/* Runs `bud ARGS` (ARGS already shell-quoted); returns the exit code, fills out_text/err_text. */
static int run(const char *args) {
  char cmd[4096], o[128], e[128];
  snprintf(o, sizeof o, "%s/stdout", tmpdir);
  snprintf(e, sizeof e, "%s/stderr", tmpdir);
  snprintf(cmd, sizeof cmd, "cd %s && '%s' %s >%s 2>%s", tmpdir, bud_bin, args, o, e);
  int st = system(cmd);
  slurp(o, out_text, sizeof out_text);
  slurp(e, err_text, sizeof err_text);
  if (st == -1 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

#define OUT_HAS(s) CHECK_MSG(strstr(out_text, (s)) != NULL, "stdout lacks \"%s\":\n%s", (s), out_text)
#define ERR_HAS(s) CHECK_MSG(strstr(err_text, (s)) != NULL, "stderr lacks \"%s\":\n%s", (s), err_text)

static void save_f32(BudContext *ctx, const char *name, const float *v, int64_t n) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  BudArray a;
  bud_array_view(ctx, &a, (void *)v, BUD_FLOAT32, 1, &n, NULL);
  CHECK_EQ_INT(npy_save(ctx, path, &a), BUD_OK);
}

static int load(BudContext *ctx, const char *name, BudArray *a) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  return npy_load(ctx, path, a);
}

static void test_help(void) {
  CHECK_EQ_INT(run("--version"), 0);
  OUT_HAS("bud 0.1.0");
  CHECK_EQ_INT(run("--help"), 0);
  OUT_HAS("usage: bud");
  CHECK_EQ_INT(run(""), 2);
  ERR_HAS("usage: bud");
  CHECK_EQ_INT(run("frobnicate"), 2);
  ERR_HAS("unknown command 'frobnicate'");
  const char *cmds[] = {"eval", "explain", "demo", "cpu"};
  for (int i = 0; i < 4; i++) {
    char a[64];
    snprintf(a, sizeof a, "%s --help", cmds[i]);
    CHECK_EQ_INT(run(a), 0);
    OUT_HAS("usage: bud ");
    OUT_HAS(cmds[i]);
  }
  CHECK_EQ_INT(run("eval --bogus '1+1'"), 2);
  ERR_HAS("unknown option '--bogus'");
  CHECK_EQ_INT(run("eval"), 2);
  ERR_HAS("missing the expression");
  CHECK_EQ_INT(run("eval 'a' notanassignment"), 2);
  ERR_HAS("expected name=VALUE");
  CHECK_EQ_INT(run("eval 'a' a=1 a=2"), 2);
  ERR_HAS("given twice");
  CHECK_EQ_INT(run("eval 'a' a=1 -o"), 2);
  CHECK_EQ_INT(run("cpu extra"), 2);
  CHECK_EQ_INT(run("demo -n 0"), 2);
  CHECK_EQ_INT(run("demo -n 3000"), 0);
  OUT_HAS("sum(a*b)");
  OUT_HAS("1 fused group");
  OUT_HAS("GB/s");
  CHECK_EQ_INT(run("cpu"), 0);
  OUT_HAS("isa used:");
}

static void test_eval(BudContext *ctx) {
  float a[3] = {1, 2, 3}, b[3] = {0.5f, -1, 10};
  save_f32(ctx, "a.npy", a, 3);
  save_f32(ctx, "b.npy", b, 3);
  CHECK_EQ_INT(run("eval '2*a + 3*b' a=a.npy b=b.npy -o out.npy"), 0);
  BudArray o;
  if (load(ctx, "out.npy", &o) == BUD_OK) {
    CHECK(o.dtype == BUD_FLOAT32 && o.ndim == 1 && o.shape[0] == 3);
    float *p = o.data;
    CHECK(p[0] == 3.5f && p[1] == 1.0f && p[2] == 36.0f);
    bud_array_free(&o);
  } else {
    CHECK_MSG(0, "out.npy not written: %s", err_text);
  }
  CHECK_EQ_INT(run("eval '2*a + 3*b' a=a.npy b=b.npy"), 0);
  OUT_HAS("float32 (3,)");
  OUT_HAS("[ 3.5  1.  36. ]");
  /* Value-based casting: float32 * 2.5 stays float32. */
  CHECK_EQ_INT(run("eval 'a * x' a=a.npy x=2.5 -o ax.npy"), 0);
  if (load(ctx, "ax.npy", &o) == BUD_OK) {
    CHECK(o.dtype == BUD_FLOAT32 && ((float *)o.data)[2] == 7.5f);
    bud_array_free(&o);
  } else {
    CHECK_MSG(0, "ax.npy not written: %s", err_text);
  }
  CHECK_EQ_INT(run("eval 'x + 1' x=41"), 0);
  CHECK_EQ_STR(out_text, "42\n");
  CHECK_EQ_INT(run("eval -- '-x' x=3"), 0);
  CHECK_EQ_STR(out_text, "-3\n");
  CHECK_EQ_INT(run("eval '-x' x=3"), 2);
  ERR_HAS("unknown option '-x'");
  CHECK_EQ_INT(run("eval '2.5 * 2'"), 0);
  CHECK_EQ_STR(out_text, "5.0\n");
  CHECK_EQ_INT(run("eval 'x / 3' x=1.0"), 0);
  CHECK_EQ_STR(out_text, "0.3333333333333333\n");
  CHECK_EQ_INT(run("eval 'x * 2' x=1.25"), 0);
  CHECK_EQ_STR(out_text, "2.5\n");
  CHECK_EQ_INT(run("eval 'a > 1.5' a=a.npy"), 0);
  CHECK_EQ_STR(out_text, "[False  True  True]\n");
  CHECK_EQ_INT(run("eval 't & (x > 0)' t=true x=-3"), 0);
  CHECK_EQ_STR(out_text, "False\n");
  /* Integers print without a point; several outputs get a header each. */
  CHECK_EQ_INT(run("eval 'y = a * 2; n = sum(a > 1)' a=a.npy"), 0);
  OUT_HAS("y: float32 (3,)\n[2. 4. 6.]");
  OUT_HAS("n: int64 ()\n2\n");
  CHECK_EQ_INT(run("eval 'y = a * 2; z = a + 1' a=a.npy -o z=z.npy -o y=y.npy"), 0);
  if (load(ctx, "z.npy", &o) == BUD_OK) {
    CHECK(((float *)o.data)[0] == 2.0f);
    bud_array_free(&o);
  } else {
    CHECK(0);
  }
  if (load(ctx, "y.npy", &o) == BUD_OK) {
    CHECK(((float *)o.data)[2] == 6.0f);
    bud_array_free(&o);
  } else {
    CHECK(0);
  }
  CHECK_EQ_INT(run("eval 'y = a * 2; z = a + 1' a=a.npy -o both.npy"), 2);
  ERR_HAS("name=FILE pairs");
  CHECK_EQ_INT(run("eval 'y = a * 2' a=a.npy -o w=w.npy"), 1);
  ERR_HAS("no output named 'w'");
  /* Large arrays are summarised. */
  static float big[2000];
  for (int i = 0; i < 2000; i++) big[i] = (float)i;
  save_f32(ctx, "big.npy", big, 2000);
  CHECK_EQ_INT(run("eval 'a + 1' a=big.npy"), 0);
  OUT_HAS("[1.000e+00 2.000e+00 3.000e+00 ... 1.998e+03 1.999e+03 2.000e+03]");
}

static void test_errors(BudContext *ctx) {
  CHECK_EQ_INT(run("eval 'a + 1' a=missing.npy"), 1);
  ERR_HAS("missing.npy");
  ERR_HAS("bud: error:");
  CHECK_EQ_INT(run("eval 'sinn(a)' a=a.npy"), 1);
  ERR_HAS("unknown function 'sinn'");
  CHECK_EQ_INT(run("eval 'a + q' a=a.npy"), 1);
  ERR_HAS("'q'");
  CHECK_EQ_INT(run("eval 'a + (' a=a.npy"), 1);
  float c[4] = {0};
  save_f32(ctx, "c.npy", c, 4);
  CHECK_EQ_INT(run("eval 'a + c' a=a.npy c=c.npy"), 1);
  ERR_HAS("(3,)");
  /* A truncated .npy file. */
  char path[256], cmd[600];
  snprintf(path, sizeof path, "%s/a.npy", tmpdir);
  snprintf(cmd, sizeof cmd, "head -c 100 '%s' > '%s/trunc.npy'", path, tmpdir);
  CHECK(system(cmd) == 0);
  CHECK_EQ_INT(run("eval 'a + 1' a=trunc.npy"), 1);
  ERR_HAS("trunc.npy");
  ERR_HAS("truncated");
  snprintf(cmd, sizeof cmd, "printf 'hello world' > '%s/junk.npy'", tmpdir);
  CHECK(system(cmd) == 0);
  CHECK_EQ_INT(run("eval 'a + 1' a=junk.npy"), 1);
  ERR_HAS("not a .npy file");
  CHECK_EQ_INT(run("eval 'a' a=a.npy -o /nonexistent/dir/x.npy"), 1);
  ERR_HAS("/nonexistent/dir/x.npy");
  CHECK_EQ_INT(run("eval 'x' x=99999999999999999999"), 1);
  ERR_HAS("int64");
}

static void test_explain(void) {
  CHECK_EQ_INT(run("explain '2*a + 3*b' a=float32[1000] b=float32[1000]"), 0);
  OUT_HAS("== input ==");
  OUT_HAS("float32[1000]");
  OUT_HAS("group");
  CHECK_EQ_INT(run("explain 'a*x + sum(b)' a=float32[1000] b=float64[10,3] x=2.5"), 0);
  OUT_HAS("float64[10,3]");
  CHECK_EQ_INT(run("explain 'a + b' a=float32[1000] b=float64[10,3]"), 1);
  ERR_HAS("bud: error:");
  CHECK_EQ_INT(run("explain 'a' a=float33[3]"), 2);
  ERR_HAS("unknown dtype 'float33'");
  CHECK_EQ_INT(run("explain 'a' a=float32[3,x]"), 2);
  CHECK_EQ_INT(run("explain 'a' a=float32[]"), 2);
  CHECK_EQ_INT(run("explain 'a' a=a.npy"), 0);
  OUT_HAS("float32[3]");
}

int main(void) {
  const char *b = getenv("BUILD");
  char cwd[256];
  if (!getcwd(cwd, sizeof cwd)) return 1;
  snprintf(bud_bin, sizeof bud_bin, "%s%s%s/bud", b && b[0] == '/' ? "" : cwd,
           b && b[0] == '/' ? "" : "/", b && *b ? b : "build/release-gcc");
  if (access(bud_bin, X_OK) != 0) {
    printf("cli: skipped: %s is not built\n", bud_bin);
    return check_done("cli");
  }
  snprintf(tmpdir, sizeof tmpdir, "/tmp/bud_cli_XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  BudContext *ctx = bud_context_new();
  test_help();
  test_eval(ctx);
  test_errors(ctx);
  test_explain();
  bud_context_free(ctx);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  return check_done("cli");
}
