using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Firezone.Benchmarks;

/// <summary>A throw-away network namespace (<c>fztun-bench-…</c>) with a worker thread that entered it with setns(2).</summary>
internal sealed partial class BenchNamespace : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;

    public string Name { get; }

    private BenchNamespace(string name)
    {
        Name = name;
        var entered = new TaskCompletionSource();
        _thread = new Thread(() =>
        {
            try
            {
                using var ns = File.OpenHandle($"/run/netns/{name}");
                if (SetNs((int)ns.DangerousGetHandle(), 0x40000000) != 0) throw new InvalidOperationException("setns failed");
                entered.SetResult();
            }
            catch (Exception e)
            {
                entered.SetException(e);
                return;
            }
            foreach (var item in _work.GetConsumingEnumerable()) item();
        }) { IsBackground = true };
        _thread.Start();
        entered.Task.GetAwaiter().GetResult();
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    public static BenchNamespace Create()
    {
        string name = "fztun-bench-" + Convert.ToHexString(Guid.NewGuid().ToByteArray(), 0, 3).ToLowerInvariant();
        Ip($"netns add {name}");
        try
        {
            Ip($"-n {name} link set lo up");
            return new BenchNamespace(name);
        }
        catch
        {
            Ip($"netns del {name}");
            throw;
        }
    }

    private static void Ip(string args)
    {
        using var p = Process.Start(new ProcessStartInfo("ip", args) { RedirectStandardError = true })!;
        p.WaitForExit(10_000);
    }

    public T Run<T>(Func<T> func)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try { tcs.SetResult(func()); }
            catch (Exception e) { tcs.SetException(e); }
        });
        return tcs.Task.GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(10));
        Ip($"netns del {Name}");
    }
}
