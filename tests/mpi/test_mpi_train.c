/* Data-parallel training (docs/distributed.md): `mpirun -np 2 dimix train` with global batch B
 * must train as one process with batch B does.
 *
 *   test_mpi_train same    both ranks on one CPU device (cpu-ref, then the fast cpu): per-step
 *                          losses within 1e-5 relative of one process's, the same test
 *                          accuracy, bit-identical parameters on both ranks (--dist-check 1),
 *                          and a run stopped at --max-steps then resumed under mpirun equal
 *                          to the uninterrupted one; SIGTERM to one rank stops every rank
 *                          with a checkpoint (exit 130); the gradient sum overlapped with
 *                          backward in small buckets (--allreduce-bucket 256: several, most
 *                          started during backward) gives bit-identical losses to the one
 *                          blocking sum (--allreduce-overlap off): with 2 ranks every element
 *                          is one addition of the same two values either way;
 *   test_mpi_train mixed   rank 0 on cpu, rank 1 on vulkan:0 (exit 77 without it; small
 *                          buckets, so vulkan:0 reads gradients mid-backward): losses
 *                          within 1e-4 of one cpu-ref process, the cross-device tolerance of
 *                          tests/models/test_models_devices.c (LOSS_RTOL).
 *
 * The data exercise the split: 181 images in batches of 45 give four batches split 22 + 23 and
 * a last one of a single image, which leaves rank 0's slice empty. With crop+flip on, since
 * augmentation is drawn per image (seed, epoch, image index), not per batch.
 * Exit 0 passed, 1 failed, 77 skipped (with the reason on stdout). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIMIX DIMIX_BINARY_DIR "/dimix"
#define MAX_STEPS 64

static char out[1 << 16];
static char mpirun[1024];

static int run(const char *cmd)
{
    char full[4096];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The launcher: CMake's MPIEXEC_EXECUTABLE, else mpirun on PATH; Open MPI's needs
 * --oversubscribe (2 ranks on fewer cores) and, as root, --allow-run-as-root. */
static int find_mpirun(void)
{
    const char *exe = DIMIX_MPIEXEC;
    if (!*exe || access(exe, X_OK) != 0)
        exe = "mpirun";
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s --version", exe);
    if (run(cmd) != 0) {
        printf("SKIP: no MPI launcher (tried '%s' and mpirun on PATH): %s\n", DIMIX_MPIEXEC, out);
        return 77;
    }
    const int open_mpi = strstr(out, "Open MPI") != NULL || strstr(out, "OpenRTE") != NULL;
    snprintf(mpirun, sizeof mpirun, "%s -np 2%s%s", exe, open_mpi ? " --oversubscribe" : "",
             open_mpi && geteuid() == 0 ? " --allow-run-as-root" : "");
    return 0;
}

typedef struct losses {
    int n;
    double loss[MAX_STEPS];
    double test_loss, test_accuracy; /* the last epoch's */
} losses;

static int read_losses(const char *dir, losses *l)
{
    char path[1100], line[512];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("FAIL: %s missing\n", path);
        return 1;
    }
    l->n = 0;
    while (fgets(line, sizeof line, f)) {
        long long step, epoch, batch;
        double loss, lr;
        if (sscanf(line, "%lld,%lld,%lld,%lf,%lf", &step, &epoch, &batch, &loss, &lr) == 5 &&
            l->n < MAX_STEPS)
            l->loss[l->n++] = loss;
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/epochs.csv", dir);
    f = fopen(path, "r");
    if (!f) {
        printf("FAIL: %s missing\n", path);
        return 1;
    }
    l->test_loss = l->test_accuracy = NAN;
    while (fgets(line, sizeof line, f)) {
        long long epoch, step;
        double train_loss, test_loss, acc;
        if (sscanf(line, "%lld,%lld,%lf,%lf,%lf", &epoch, &step, &train_loss, &test_loss, &acc) == 5)
            l->test_loss = test_loss, l->test_accuracy = acc;
    }
    fclose(f);
    return 0;
}

/* Per-step |a - b| / max(1, |b|) (relative to the single process b) at most rtol. */
static int compare(const char *what, const losses *a, const losses *b, double rtol)
{
    if (a->n != b->n || a->n == 0) {
        printf("FAIL %s: %d steps logged, one process logged %d\n", what, a->n, b->n);
        return 1;
    }
    double worst = 0;
    int bad = 0;
    for (int i = 0; i < a->n; i++) {
        double err = fabs(a->loss[i] - b->loss[i]) / fmax(1.0, fabs(b->loss[i]));
        worst = fmax(worst, err);
        if (!(err <= rtol) && bad++ < 5)
            printf("FAIL %s: step %d loss %.9g, one process %.9g (relative %.2e > %.0e)\n",
                   what, i + 1, a->loss[i], b->loss[i], err, rtol);
    }
    double test_err = fabs(a->test_loss - b->test_loss) / fmax(1.0, fabs(b->test_loss));
    if (!(test_err <= rtol)) {
        printf("FAIL %s: test loss %.9g, one process %.9g\n", what, a->test_loss, b->test_loss);
        bad++;
    }
    if (!(fabs(a->test_accuracy - b->test_accuracy) <= 1.0 / 64)) {
        printf("FAIL %s: test accuracy %.6f, one process %.6f\n", what, a->test_accuracy,
               b->test_accuracy);
        bad++;
    }
    printf("%s %s: %d steps, worst relative loss difference %.2e (limit %.0e), test accuracy "
           "%.4f vs %.4f\n", bad ? "FAIL" : "ok  ", what, a->n, worst, rtol, a->test_accuracy,
           b->test_accuracy);
    return bad != 0;
}

static const char *tmp;

static int train(const char *launch, const char *device, const char *name, const char *extra)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s train --model mixer dim=16 depth=2 "
             "patch=4 --data synthetic:3:16:10:181 --device %s --batch 45 --epochs 2 "
             "--augment crop+flip --optimizer adam --lr 3e-3 --no-prefetch --out %s/%s %s",
             launch, DIMIX, device, tmp, name, extra);
    int rc = run(cmd);
    if (rc != 0)
        printf("FAIL: exit %d from\n  %s\n%s\n", rc, cmd, out);
    return rc != 0;
}

static int load(const char *name, losses *l)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    return read_losses(dir, l);
}

/* The bucket counts dimix train printed for an overlapped run: at least 2 buckets per step,
 * and on average more than one started before backward ended. */
static int check_buckets(const char *what)
{
    const char *key = "overlapped with backward: ";
    const char *at = strstr(out, key);
    int buckets = 0;
    double early = 0;
    if (!at || sscanf(at + strlen(key), "%d buckets per step, %lf started", &buckets,
                      &early) != 2 || buckets < 2 || !(early > 1)) {
        printf("FAIL %s: expected several buckets, most started during backward (%d buckets, "
               "%.2f early):\n%s\n", what, buckets, early, out);
        return 1;
    }
    printf("ok   %s: %d buckets per step, %.2f started during backward\n", what, buckets, early);
    return 0;
}

/* log.csv of two runs, the same text (the losses printed with %.9g: float bit for bit). */
static int same_log(const char *what, const char *x, const char *y)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cmp %s/%s/log.csv %s/%s/log.csv", tmp, x, tmp, y);
    if (run(cmd) != 0) {
        printf("FAIL %s: the losses differ:\n%s\n", what, out);
        return 1;
    }
    printf("ok   %s: identical losses\n", what);
    return 0;
}

static int case_same_device(const char *device)
{
    char single[64], dist[64], part[64], blocking[64];
    snprintf(single, sizeof single, "one-%s", device);
    snprintf(dist, sizeof dist, "two-%s", device);
    snprintf(part, sizeof part, "two-%s-resumed", device);
    snprintf(blocking, sizeof blocking, "two-%s-blocking", device);
    losses a, b, c;
    char what[128];
    if (train("", device, single, "") ||
        train(mpirun, device, dist, "--dist-check 1 --allreduce-bucket 256"))
        return 1;
    int bad = 0;
    snprintf(what, sizeof what, "2 ranks on %s, overlapped sum", device);
    bad += check_buckets(what);
    const char *check = strstr(out, "largest difference from rank 0: ");
    if (!check || strncmp(check + strlen("largest difference from rank 0: "), "0\n", 2) != 0) {
        printf("FAIL %s: the ranks' parameters differ (or were not compared):\n%s\n", device,
               out);
        bad++;
    }
    if (load(single, &b) || load(dist, &a))
        return 1;
    snprintf(what, sizeof what, "2 ranks on %s", device);
    bad += compare(what, &a, &b, 1e-5);
    if (train(mpirun, device, blocking, "--allreduce-overlap off"))
        return 1;
    if (!strstr(out, "one blocking sum after backward")) {
        printf("FAIL %s: --allreduce-overlap off did not sum once after backward:\n%s\n",
               device, out);
        bad++;
    }
    snprintf(what, sizeof what, "2 ranks on %s, overlapped vs blocking sum", device);
    bad += same_log(what, dist, blocking);
    /* stopped at step 3 under mpirun, then resumed under mpirun */
    if (train(mpirun, device, part, "--max-steps 3"))
        return 1;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s train --resume %s/%s/checkpoint.safetensors",
             mpirun, DIMIX, tmp, part);
    int rc = run(cmd);
    if (rc != 0) {
        printf("FAIL: resume under mpirun exited %d:\n%s\n", rc, out);
        return 1;
    }
    if (load(part, &c))
        return 1;
    snprintf(what, sizeof what, "2 ranks on %s, stopped at step 3 and resumed", device);
    bad += compare(what, &c, &b, 1e-5);
    return bad != 0;
}

/* dimix lra train: the same equivalence on a ListOps set with dropout 0.1 (each rank's masks
 * are its rows of the whole batch's: dmx_ctx_set_rng_rows), the sum in small buckets
 * (butterfly attention's factors are used by several tape entries each). 200 sequences in batches of 15 (13 full batches split
 * 7 + 8; the last partial one is dropped). */
static int case_lra(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s lra gen listops --out %s/listops --train 200 --val 20 "
             "--test 40 --min-len 10 --max-len 64 --seed 2", DIMIX, tmp);
    if (run(cmd) != 0) {
        printf("FAIL: %s\n%s\n", cmd, out);
        return 1;
    }
    const char *names[2] = {"lra-one", "lra-two"};
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s lra train --task listops --data "
                 "%s/listops seq_len=64 attn_radix=8 dim=16 mlp_hidden=32 head_hidden=16 "
                 "dropout=0.1 --steps 26 --batch 15 --warmup 5 --lr 1e-3 --device cpu-ref "
                 "--out %s/%s%s", k ? mpirun : "", DIMIX, tmp, tmp, names[k],
                 k ? " --allreduce-bucket 256" : "");
        int rc = run(cmd);
        if (rc != 0) {
            printf("FAIL: exit %d from\n  %s\n%s\n", rc, cmd, out);
            return 1;
        }
    }
    int bad = check_buckets("lra train, overlapped sum");
    losses a, b;
    if (load("lra-one", &b) || load("lra-two", &a))
        return 1;
    return bad + compare("lra train, 2 ranks on cpu-ref", &a, &b, 1e-5) != 0;
}

/* dimix bench --suite dist under mpirun: every phase (1 rank; 2 with the blocking, then the
 * overlapped sum) ran and the efficiency and the bytes
 * all-reduced per step came out (no timing is asserted). */
static int case_bench(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s %s bench --suite dist --device cpu "
             "--threads 1 --batch 32 --warmup 1 --repeat 3 --json %s/dist.json", mpirun, DIMIX,
             tmp);
    int rc = run(cmd);
    if (rc != 0 || !strstr(out, "  2 ranks blocking ") || !strstr(out, "  2 ranks overlapped ") ||
        !strstr(out, "scaling efficiency 2 ranks: ") ||
        !strstr(out, "bytes per step per rank")) {
        printf("FAIL: bench --suite dist exited %d:\n  %s\n%s\n", rc, cmd, out);
        return 1;
    }
    snprintf(cmd, sizeof cmd, "grep -c '\"efficiency\": [0-9]' %s/dist.json", tmp);
    if (run(cmd) != 0) {
        printf("FAIL: %s/dist.json has no efficiency\n", tmp);
        return 1;
    }
    printf("ok   bench --suite dist under mpirun -np 2\n");
    return 0;
}

/* SIGTERM to one rank (not the launcher) mid-run: every rank stops at the same step, rank 0
 * writes the checkpoint, the run exits 130 and says where to resume. */
static int case_sigterm(void)
{
    char script[512], cmd[4096];
    snprintf(script, sizeof script, "%s/sigterm.sh", tmp);
    FILE *f = fopen(script, "w");
    if (!f)
        return 1;
    fprintf(f,
            "OMP_NUM_THREADS=1 %s %s train --model mixer dim=16 depth=2 patch=4 "
            "--data synthetic:3:16:10:181 --device cpu --batch 45 --epochs 100000 "
            "--no-prefetch --out %s/sigterm > %s/sigterm.log 2>&1 &\n"
            "launcher=$!\n"
            "for i in $(seq 1 300); do [ -s %s/sigterm/epochs.csv ] && break; sleep 0.1; "
            "done\n"
            "rank=''\n"
            "for p in $(pgrep -f '%s/sigterm'); do\n"
            "  [ \"$(cat /proc/$p/comm 2>/dev/null)\" = dimix ] && rank=$p\n"
            "done\n"
            "[ -n \"$rank\" ] || { echo 'no rank process found'; kill $launcher; exit 3; }\n"
            "echo \"SIGTERM to rank process $rank\"\n"
            "kill -TERM $rank\n"
            "wait $launcher\n"
            "rc=$?\n"
            "cat %s/sigterm.log\n"
            "exit $rc\n",
            mpirun, DIMIX, tmp, tmp, tmp, tmp, tmp);
    fclose(f);
    snprintf(cmd, sizeof cmd, "sh %s", script);
    int rc = run(cmd);
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/sigterm/checkpoint.safetensors", tmp);
    if (rc != 130 || access(ckpt, R_OK) != 0 || !strstr(out, "stopped at step")) {
        printf("FAIL: SIGTERM to one rank: exit %d (want 130), checkpoint %s:\n%s\n", rc,
               access(ckpt, R_OK) == 0 ? "written" : "missing", out);
        return 1;
    }
    printf("ok   SIGTERM to one rank: all stopped, exit 130, checkpoint written\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "same") && strcmp(argv[1], "mixed"))) {
        fprintf(stderr, "usage: test_mpi_train same|mixed\n");
        return 2;
    }
    int rc = find_mpirun();
    if (rc)
        return rc;
    char dir[] = "/tmp/dimix_mpi_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    tmp = dir;
    int bad = 0;
    if (strcmp(argv[1], "same") == 0) {
        bad += case_same_device("cpu-ref");
        bad += case_same_device("cpu");
        bad += case_lra();
        bad += case_bench();
        bad += case_sigterm();
    } else {
        run(DIMIX " devices");
        if (!strstr(out, "\nvulkan:0 ")) {
            printf("SKIP: no vulkan:0 on this machine (dimix devices lists:\n%s)\n", out);
            rc = 77;
            goto done;
        }
        losses a, b;
        if (train("", "cpu-ref", "one-cpu-ref", "") ||
            train(mpirun, "cpu,vulkan:0", "two-mixed", "--dist-check 2 --allreduce-bucket 256") ||
            check_buckets("rank 0 cpu, rank 1 vulkan:0") ||
            load("one-cpu-ref", &b) || load("two-mixed", &a))
            bad++;
        else
            bad += compare("rank 0 cpu, rank 1 vulkan:0", &a, &b, 1e-4);
    }
    rc = bad ? 1 : 0;
done:;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    printf("%s\n", rc == 0 ? "passed" : rc == 77 ? "skipped" : "FAILED");
    return rc;
}
