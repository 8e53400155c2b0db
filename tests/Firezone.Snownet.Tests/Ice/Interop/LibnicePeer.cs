using System.Diagnostics;

namespace Firezone.Snownet.Tests.Ice.Interop;

/// <summary>
/// A libnice (RFC 5245 mode) ICE agent as an independent real peer: a small C program, compiled on first use with
/// gcc against libnice (Debian: <c>libnice-dev</c>, <c>gcc</c>, <c>pkg-config</c>), that speaks a line protocol on
/// stdin/stdout (CREDS, CAND, GO in; CREDS, CAND, GATHERED, STATE, SELECTED out).
/// </summary>
internal static class LibnicePeer
{
    private static readonly Lazy<(string? Path, string Reason)> Built = new(Build);

    /// <summary>The compiled peer, or null with the reason it is unavailable.</summary>
    public static string? Executable(out string reason)
    {
        (string? path, string why) = Built.Value;
        reason = why;
        return path;
    }

    private static (string? Path, string Reason) Build()
    {
        string dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "firezone-libnice-peer-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        string source = System.IO.Path.Combine(dir, "peer.c");
        string exe = System.IO.Path.Combine(dir, "peer");
        File.WriteAllText(source, Source);
        (int flagsRc, string flags) = Run("pkg-config", "--cflags --libs nice");
        if (flagsRc != 0)
        {
            return (null, "libnice is not installed (pkg-config nice failed; Debian: apt-get install libnice-dev gcc pkg-config)");
        }

        (int rc, string output) = Run("gcc", $"-O1 -o \"{exe}\" \"{source}\" {flags.Trim()}");
        return rc == 0 ? (exe, string.Empty) : (null, "could not compile the libnice peer with gcc: " + output);
    }

    private static (int Rc, string Output) Run(string file, string args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(file, args)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            if (!p.WaitForExit(60_000))
            {
                p.Kill(entireProcessTree: true);
                return (-1, "timed out");
            }

            return (p.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    private const string Source = """
/* libnice interop peer for Firezone.NET ICE tests: line protocol on stdin/stdout. */
#include <agent.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static NiceAgent *agent;
static guint stream_id;
static GMainLoop *loop;
static GSList *remote = NULL;

static void recv_cb(NiceAgent *a, guint s, guint c, guint len, gchar *buf, gpointer data) {}

static void gathered(NiceAgent *a, guint s, gpointer data) {
  gchar *ufrag = NULL, *pwd = NULL;
  nice_agent_get_local_credentials(a, s, &ufrag, &pwd);
  printf("CREDS %s %s\n", ufrag, pwd);
  GSList *cands = nice_agent_get_local_candidates(a, s, 1);
  for (GSList *i = cands; i; i = i->next) {
    gchar *sdp = nice_agent_generate_local_candidate_sdp(a, i->data);
    printf("CAND %s\n", sdp);
    g_free(sdp);
  }
  g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
  printf("GATHERED\n");
  fflush(stdout);
  g_free(ufrag); g_free(pwd);
}

static void state_changed(NiceAgent *a, guint s, guint c, guint state, gpointer data) {
  printf("STATE %s\n", nice_component_state_to_string(state));
  fflush(stdout);
}

static void selected(NiceAgent *a, guint s, guint c, NiceCandidate *l, NiceCandidate *r, gpointer data) {
  gchar la[NICE_ADDRESS_STRING_LEN], ra[NICE_ADDRESS_STRING_LEN];
  nice_address_to_string(&l->addr, la);
  nice_address_to_string(&r->addr, ra);
  printf("SELECTED %s:%u %s:%u\n", la, nice_address_get_port(&l->addr), ra, nice_address_get_port(&r->addr));
  fflush(stdout);
}

static gboolean on_stdin(GIOChannel *ch, GIOCondition cond, gpointer data) {
  gchar *line = NULL; gsize len = 0;
  GIOStatus st = g_io_channel_read_line(ch, &line, &len, NULL, NULL);
  if (st == G_IO_STATUS_EOF || st == G_IO_STATUS_ERROR) { g_main_loop_quit(loop); return FALSE; }
  if (!line) return TRUE;
  g_strstrip(line);
  if (g_str_has_prefix(line, "CREDS ")) {
    gchar **p = g_strsplit(line + 6, " ", 2);
    nice_agent_set_remote_credentials(agent, stream_id, p[0], p[1]);
    g_strfreev(p);
  } else if (g_str_has_prefix(line, "CAND ")) {
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(agent, stream_id, line + 5);
    printf("PARSED %s\n", c ? "ok" : "failed");
    fflush(stdout);
    if (c) remote = g_slist_append(remote, c);
  } else if (strcmp(line, "GO") == 0) {
    int n = nice_agent_set_remote_candidates(agent, stream_id, 1, remote);
    printf("ADDED %d\n", n);
    fflush(stdout);
  }
  g_free(line);
  return TRUE;
}

static gboolean quit(gpointer data) { g_main_loop_quit(loop); return FALSE; }

int main(int argc, char **argv) {
  gboolean controlling = argc > 1 && strcmp(argv[1], "controlling") == 0;
  loop = g_main_loop_new(NULL, FALSE);
  agent = nice_agent_new(g_main_loop_get_context(loop), NICE_COMPATIBILITY_RFC5245);
  g_object_set(agent, "controlling-mode", controlling, "ice-tcp", FALSE, "upnp", FALSE, NULL);
  NiceAddress addr;
  nice_address_init(&addr);
  nice_address_set_from_string(&addr, "127.0.0.1");
  nice_agent_add_local_address(agent, &addr);
  g_signal_connect(agent, "candidate-gathering-done", G_CALLBACK(gathered), NULL);
  g_signal_connect(agent, "component-state-changed", G_CALLBACK(state_changed), NULL);
  g_signal_connect(agent, "new-selected-pair-full", G_CALLBACK(selected), NULL);
  stream_id = nice_agent_add_stream(agent, 1);
  nice_agent_attach_recv(agent, stream_id, 1, g_main_loop_get_context(loop), recv_cb, NULL);
  nice_agent_gather_candidates(agent, stream_id);
  GIOChannel *ch = g_io_channel_unix_new(0);
  g_io_add_watch(ch, G_IO_IN | G_IO_HUP, on_stdin, NULL);
  g_timeout_add_seconds(argc > 2 ? atoi(argv[2]) : 30, quit, NULL);
  g_main_loop_run(loop);
  return 0;
}
""";
}
