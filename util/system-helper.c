/*
 * tsbuild's system helper (util/system-helper.ts): the system calls Node has no API for,
 * for the process that started it: mount(2) and umount2(2), the extended attributes of a
 * tree, and sealed in-memory copies of a program. Requests are read from stdin and each is
 * served in a thread of its own (an unmount syncs the upper file system and can take a
 * while; others go on).
 *
 * A request is NUL-terminated fields: "M", id, cwd, fstype, source, target, flags (decimal
 * MS_* bits), data; "U", id, target; "X", id, dir, names (attribute names, each ended by a
 * newline); or "S", id, path. The reply, one line on stdout: "<id> 0" or
 * "<id> <errno> <message>"; for "X", "<id> 0" is followed by " <path> <name> <value>" in
 * hex for every wanted attribute of every file under dir, symlinks not followed, dir
 * included; for "S", by " <fd>": a memfd holding the file's bytes, sealed against any
 * change, open until the helper exits (executed as /proc/<pid>/fd/<fd>). Each thread has
 * its own working directory (unshare CLONE_FS), since overlay options name layers relative
 * to it. Ends when stdin closes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_FIELDS 8

struct request {
  int count;
  char *fields[MAX_FIELDS];
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* One reply line: "<id> 0" and what `data` adds (fields, each after a space), or the error. */
static void reply(const char *id, int error, const char *data) {
  pthread_mutex_lock(&out_lock);
  if (error == 0) printf("%s 0%s\n", id, data == NULL ? "" : data);
  else printf("%s %d %s\n", id, error, strerror(error));
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
}

/* The fields a request of `type` has, its type and id included (an unknown type: those two). */
static int field_count(const char *type) {
  if (strcmp(type, "M") == 0) return 8;
  if (strcmp(type, "X") == 0) return 4;
  if (strcmp(type, "U") == 0 || strcmp(type, "S") == 0) return 3;
  return 2;
}

/* A reply being built: grows as needed; `failed` once memory ran out. */
struct text {
  char *data;
  size_t length, size;
  int failed;
};

static void append(struct text *t, const char *bytes, size_t n) {
  if (t->failed) return;
  if (t->length + n + 1 > t->size) {
    size_t size = t->size == 0 ? 4096 : t->size;
    while (t->length + n + 1 > size) size *= 2;
    char *larger = realloc(t->data, size);
    if (larger == NULL) {
      t->failed = 1;
      return;
    }
    t->data = larger;
    t->size = size;
  }
  memcpy(t->data + t->length, bytes, n);
  t->length += n;
  t->data[t->length] = '\0';
}

static void append_hex(struct text *t, const void *bytes, size_t n) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = bytes;
  char pair[2];
  append(t, " ", 1);
  for (size_t i = 0; i < n; i++) {
    pair[0] = digits[p[i] >> 4];
    pair[1] = digits[p[i] & 15];
    append(t, pair, 2);
  }
}

/* nftw's callback takes no argument of its own: each walking thread keeps its state here. */
static __thread struct text *walk_out;
static __thread const char *walk_names;
static __thread int walk_error;

/* Whether `name` is one of the newline-ended names asked for. */
static int wanted(const char *name) {
  size_t length = strlen(name);
  for (const char *p = walk_names; *p != '\0';) {
    const char *end = strchr(p, '\n');
    if (end == NULL) return 0;
    if ((size_t)(end - p) == length && memcmp(p, name, length) == 0) return 1;
    p = end + 1;
  }
  return 0;
}

/* Files that vanish, or whose file system keeps no attributes, have none; other errors end the walk. */
static int ignorable(int error) {
  return error == ENOENT || error == ENOTSUP || error == ENODATA;
}

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  if (flag == FTW_NS || flag == FTW_DNR) {
    if (ignorable(errno)) return 0;
    walk_error = errno;
    return 1;
  }
  char names[65536];
  ssize_t listed = llistxattr(path, names, sizeof names);
  if (listed < 0) {
    if (ignorable(errno)) return 0;
    walk_error = errno;
    return 1;
  }
  for (ssize_t i = 0; i < listed; i += (ssize_t)strlen(names + i) + 1) {
    const char *name = names + i;
    if (!wanted(name)) continue;
    char value[65536];
    ssize_t size = lgetxattr(path, name, value, sizeof value);
    if (size < 0) {
      if (ignorable(errno)) continue;
      walk_error = errno;
      return 1;
    }
    append_hex(walk_out, path, strlen(path));
    append_hex(walk_out, name, strlen(name));
    append_hex(walk_out, value, (size_t)size);
  }
  return 0;
}

static void read_tree_xattrs(const char *id, const char *dir, const char *names) {
  struct text out = {0};
  walk_out = &out;
  walk_names = names;
  walk_error = 0;
  int result = nftw(dir, visit, 16, FTW_PHYS);
  int error = result == 0 ? (out.failed ? ENOMEM : 0) : result < 0 ? errno : walk_error;
  reply(id, error, out.data);
  free(out.data);
}

/* A sealed memfd with the bytes of `path` (what runc's memfd-bind makes); its fd or -errno. */
static int sealed_copy(const char *path) {
  int in = open(path, O_RDONLY | O_CLOEXEC);
  if (in < 0) return -errno;
  int out = memfd_create("tsbuild-sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  int error = out < 0 ? errno : 0;
  char buffer[65536];
  while (error == 0) {
    ssize_t got = read(in, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) error = errno;
    if (got <= 0) break;
    for (ssize_t done = 0; done < got && error == 0;) {
      ssize_t put = write(out, buffer + done, (size_t)(got - done));
      if (put < 0 && errno != EINTR) error = errno;
      if (put > 0) done += put;
    }
  }
  close(in);
  if (error == 0 && fcntl(out, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0) error = errno;
  if (error != 0) {
    if (out >= 0) close(out);
    return -error;
  }
  return out;
}

static void *serve(void *arg) {
  struct request *r = arg;
  const char *type = r->fields[0], *id = r->fields[1];
  if (strcmp(type, "X") == 0) {
    read_tree_xattrs(id, r->fields[2], r->fields[3]);
  } else if (strcmp(type, "S") == 0) {
    int fd = sealed_copy(r->fields[2]);
    char data[16];
    snprintf(data, sizeof data, " %d", fd);
    reply(id, fd < 0 ? -fd : 0, data);
  } else {
    int error = 0;
    if (strcmp(type, "M") == 0) {
      if (unshare(CLONE_FS) != 0 || chdir(r->fields[2]) != 0) error = errno;
      else if (mount(r->fields[4], r->fields[5], r->fields[3], strtoul(r->fields[6], NULL, 10), r->fields[7]) != 0) error = errno;
    } else if (strcmp(type, "U") == 0) {
      if (umount2(r->fields[2], 0) != 0) error = errno;
    } else {
      error = EINVAL;
    }
    reply(id, error, NULL);
  }
  for (int i = 0; i < r->count; i++) free(r->fields[i]);
  free(r);
  return NULL;
}

/* One NUL-terminated field from stdin; NULL at the end of input. */
static char *read_field(void) {
  size_t size = 256, length = 0;
  char *field = malloc(size);
  if (field == NULL) return NULL;
  for (;;) {
    int c = getchar();
    if (c == EOF) {
      free(field);
      return NULL;
    }
    if (length + 1 >= size) {
      char *larger = realloc(field, size *= 2);
      if (larger == NULL) {
        free(field);
        return NULL;
      }
      field = larger;
    }
    field[length++] = (char)c;
    if (c == '\0') return field;
  }
}

int main(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* The xattr walk and the copy keep 64 KiB buffers on the stack: more than musl's default. */
  pthread_attr_setstacksize(&attr, 1 << 20);
  for (;;) {
    struct request *r = calloc(1, sizeof *r);
    if (r == NULL) return 1;
    char *type = read_field();
    if (type == NULL) pthread_exit(NULL); /* the requests in flight still answer */
    r->fields[r->count++] = type;
    int fields = field_count(type);
    while (r->count < fields) {
      char *field = read_field();
      if (field == NULL) pthread_exit(NULL);
      r->fields[r->count++] = field;
    }
    pthread_t thread;
    if (pthread_create(&thread, &attr, serve, r) != 0) serve(r);
  }
}
