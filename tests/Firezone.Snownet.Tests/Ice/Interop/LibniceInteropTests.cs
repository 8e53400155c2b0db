using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Firezone.Snownet.Ice;
using Firezone.Snownet.SansIo;

namespace Firezone.Snownet.Tests.Ice.Interop;

/// <summary>
/// Our agent against libnice (an independent RFC 5245/8445 implementation) over real UDP on 127.0.0.1: both sides
/// must select the two ends of the same pair, in either role and after role conflicts (RFC 8445 §7.3.1.1).
/// </summary>
public class LibniceInteropTests
{
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]   // role conflict: both controlling
    [InlineData(false, false)] // role conflict: both controlled
    public void Connects_with_libnice(bool weAreControlling, bool libniceControlling)
    {
        string? exe = LibnicePeer.Executable(out string reason);
        Assert.SkipUnless(exe is not null, reason);

        using var process = Process.Start(new ProcessStartInfo(exe!, (libniceControlling ? "controlling" : "controlled") + " 20")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var lines = new BlockingCollection<string>();
        var log = new ConcurrentQueue<string>();
        var reader = new Thread(() =>
        {
            while (process.StandardOutput.ReadLine() is { } l)
            {
                log.Enqueue(l);
                lines.Add(l);
            }

            lines.CompleteAdding();
        }) { IsBackground = true };
        reader.Start();
        try
        {
            // 1. libnice gathers: credentials and candidates.
            string? ufrag = null, pwd = null;
            var theirCandidates = new List<string>();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (true)
            {
                Assert.True(lines.TryTake(out string? line, deadline - DateTime.UtcNow > TimeSpan.Zero ? deadline - DateTime.UtcNow : TimeSpan.Zero), "libnice did not gather: " + string.Join(" | ", log));
                if (line!.StartsWith("CREDS ", StringComparison.Ordinal))
                {
                    string[] p = line.Split(' ');
                    (ufrag, pwd) = (p[1], p[2]);
                }
                else if (line.StartsWith("CAND ", StringComparison.Ordinal))
                {
                    theirCandidates.Add(line[5..]);
                }
                else if (line == "GATHERED")
                {
                    break;
                }
            }

            // 2. Our agent on a real loopback socket.
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var local = (IPEndPoint)socket.LocalEndPoint!;
            // Monotonic time since this driver started, as the sans-IO contract asks; production randomness.
            var clock = Stopwatch.StartNew();
            TimeSpan Now() => clock.Elapsed;
            var agent = new IceAgent(weAreControlling ? IceRole.Controlling : IceRole.Controlled, IceCredentials.Random(), RandomSource.Secure);
            Assert.True(agent.AddLocalCandidate(Candidate.Host(local)));
            agent.SetRemoteCredentials(new IceCredentials(ufrag!, pwd!), Now());
            foreach (string sdp in theirCandidates)
            {
                Assert.True(Candidate.TryParse(sdp, out Candidate c), sdp);
                agent.AddRemoteCandidate(c);
            }

            process.StandardInput.WriteLine($"CREDS {agent.LocalCredentials.Ufrag} {agent.LocalCredentials.Password}");
            while (agent.PollEvent() is { } e)
            {
                if (e is CandidateGathered g)
                {
                    process.StandardInput.WriteLine("CAND a=" + g.Candidate.ToSdpString());
                }
            }

            process.StandardInput.WriteLine("GO");
            process.StandardInput.Flush();

            // 3. Drive our agent until both sides selected a pair (bounded).
            PairNominated? ours = null;
            string? theirs = null;
            bool theyAreReady = false;
            byte[] buffer = new byte[2048];
            deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            agent.HandleTimeout(Now());
            while (DateTime.UtcNow < deadline && !(ours is not null && theirs is not null && theyAreReady))
            {
                while (agent.PollTransmit() is { } t)
                {
                    socket.SendTo(t.Payload.Span, t.Destination);
                }

                while (agent.PollEvent() is { } e)
                {
                    if (e is PairNominated n)
                    {
                        ours = n;
                    }
                }

                while (lines.TryTake(out string? line))
                {
                    if (line.StartsWith("SELECTED ", StringComparison.Ordinal))
                    {
                        theirs = line;
                    }
                    else if (line is "STATE ready" or "STATE connected")
                    {
                        theyAreReady = true;
                    }
                }

                TimeSpan? wake = agent.PollTimeout();
                TimeSpan wait = wake is null ? TimeSpan.FromMilliseconds(20) : wake.Value - Now();
                wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > TimeSpan.FromMilliseconds(20) ? TimeSpan.FromMilliseconds(20) : wait;
                if (socket.Poll((int)wait.TotalMicroseconds, SelectMode.SelectRead))
                {
                    EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                    int n = socket.ReceiveFrom(buffer, ref from);
                    agent.HandleInput(buffer.AsSpan(0, n), (IPEndPoint)from, local, Now());
                }

                agent.HandleTimeout(Now());
            }

            string trace = string.Join(" | ", log);
            Assert.True(ours is not null, "our agent nominated nothing; libnice said: " + trace);
            Assert.True(theirs is not null && theyAreReady, "libnice selected nothing: " + trace);
            string[] sel = theirs!.Split(' ');
            Assert.Equal(local.ToString(), sel[2]);
            Assert.Equal(ours!.Destination.ToString(), sel[1]);
            Assert.Equal(local, ours.Source);
            Assert.Equal(IceConnectionState.Connected, agent.State);
        }
        finally
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            process.WaitForExit(5000);
        }
    }
}
