using System.Buffers.Binary;
using System.Net;
using Firezone.Connlib.Dns;
using Firezone.Connlib.Model;
using Firezone.Tun.Packets;
using Ar = ARSoft.Tools.Net.Dns;

using Firezone.Testing;

namespace Firezone.Connlib.Tests.Tunnel.Model;

/// <summary>
/// Runs a <see cref="TunnelCase"/> against the real system (tunnel spec §9.5): a <see cref="TunnelWorld"/> with a real
/// ClientState, GatewayState, Nodes and relay; after every transition the world runs a few simulated seconds and
/// every invariant of §9.8 is checked against the reference state. Returns null when the case passed, else what failed.
/// </summary>
internal sealed class TunnelCaseRunner
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(3);
    private readonly Dictionary<(string Name, bool IPv6), List<IPAddress>> _answers = [];
    private readonly Dictionary<ulong, (IPAddress Source, IPAddress Destination, ushort Id1, ushort Id2)> _sent = [];
    private int _seenTun;
    private readonly Dictionary<string, int> _traffic = new(StringComparer.Ordinal);

    public Dictionary<string, int> Coverage { get; } = new(StringComparer.Ordinal);

    /// <summary>The highest idle rate seen, in datagrams per second per (connection + 1).</summary>
    public double MaxIdleRate { get; private set; }

    /// <summary>The highest idle rate of every runner of this process (for the report).</summary>
    public static double MaxIdleRateSeen { get; private set; }

    public static string? Run(TunnelCase c, Dictionary<string, int>? coverage = null) => Run(c, coverage, out _);

    /// <summary>Runs <paramref name="c"/>; <paramref name="log"/> gets every line the world logged (debug and above).</summary>
    public static string? Run(TunnelCase c, Dictionary<string, int>? coverage, out IReadOnlyList<string> log)
    {
        var runner = new TunnelCaseRunner();
        string? failure;
        try
        {
            failure = runner.RunCase(c);
        }
        catch (Exception e)
        {
            failure = $"exception: {e}";
        }

        log = runner._log;
        MaxIdleRateSeen = Math.Max(MaxIdleRateSeen, runner.MaxIdleRate);
        if (failure is null && coverage is not null)
        {
            foreach (var (branch, n) in runner.Coverage)
            {
                coverage[branch] = coverage.GetValueOrDefault(branch) + n;
            }
        }

        return failure;
    }

    private string? RunCase(TunnelCase c)
    {
        using var world = new TunnelWorld(seed: c.Seed, blockDirect: c.DropDirect, gateways: c.Sites, knownHosts: c.KnownHosts);
        _log = world.Log.Lines;
        world.HostResolver = q => HostAnswer(q.Message.Span, c.GlobalRecords);
        world.ResourceHost = (packet, _) => DnsServerBehindGateway(packet, c.GlobalRecords);
        world.Net.Drop = (from, to, payload) =>
        {
            string kind = payload.Length == 0 ? "empty" : payload.Span[0] switch
            {
                0 or 1 when payload.Length >= 20 && payload.Span[4] == 0x21 && payload.Span[5] == 0x12 => $"stun {payload.Span[0]:x2}{payload.Span[1]:x2}",
                >= 0x40 and <= 0x4F => "channel-data",
                1 or 2 or 3 or 4 => $"wireguard {payload.Span[0]} ({payload.Length} B)",
                _ => "other",
            };
            string key = $"{from.Address}→{to.Address} {kind}";
            _traffic[key] = _traffic.GetValueOrDefault(key) + 1;
            return false;
        };
        var model = new RefState(c.Portal, c.DropDirect, c.GlobalRecords) { KnownHosts = c.KnownHosts };
        for (int step = 0; step < c.Transitions.Count; step++)
        {
            var t = c.Transitions[step];
            if (!model.IsValid(t))
            {
                continue; // after shrinking a step may no longer apply: skipped, as proptest re-checks preconditions
            }

            int before = model.ConnectionSites.Count; // connections that existed while the step began (Idle may expire them)
            model.Apply(t);
            long sentBefore = world.Net.Sent;
            Execute(world, c, t);
            // A replaced relay takes its relayed connections down only when ICE gives up on them (≈6 s here), so that
            // step settles for 10 s like every step of upstream's harness; the others need far less.
            // Roaming leaves each gateway's side of the old connection to its ICE timeout (≈ 9 s) too.
            world.Run(t switch { Idle idle => TimeSpan.FromSeconds(idle.Seconds), DeployNewRelay or PartitionRelays => TimeSpan.FromSeconds(10), RoamClient => TimeSpan.FromSeconds(15), _ => Settle });
            if (t is Idle quiet)
            {
                // §9.4 Idle: an idle tunnel sends at most 2 datagrams per second per (connection + 1), everything counted
                // (ICE consent, WireGuard keepalives, TURN refreshes, both sides and the relay).
                int connections = Math.Max(model.ConnectionSites.Count, before);
                double rate = (world.Net.Sent - sentBefore) / (double)quiet.Seconds;
                MaxIdleRate = Math.Max(MaxIdleRate, rate / (connections + 1));
                if (rate > 2.0 * (connections + 1))
                {
                    string detail = string.Join(", ", _traffic.OrderByDescending(kv => kv.Value).Take(12).Select(kv => $"{kv.Key}: {kv.Value}"));
                    return $"after step {step + 1} ({t}): {rate:F1} datagrams/s while idle with {connections} connection(s); since the case began: {detail}";
                }
            }

            if (Check(world, model) is { } failure)
            {
                string log = Environment.GetEnvironmentVariable("FIREZONE_TUNNEL_LOG") is not null ? "\nlog:\n" + world.Log : "";
                return $"after step {step + 1} ({t}): {failure}{log}";
            }
        }

        return null;
    }

    private void Execute(TunnelWorld world, TunnelCase c, Transition t)
    {
        switch (t)
        {
            case ActivateResource a:
                var r = c.Portal[a.Index];
                foreach (var name in r.Names)
                {
                    _answers.Remove((name, false));
                    _answers.Remove((name, true));
                    foreach (var (ip, records) in r.Records)
                    {
                        world.DnsRecords[ip] = records;
                    }
                }

                world.PortalResources.Add(r.Client);
                world.AddResource(r.Client, r.Gateway, r.Site);
                break;
            case DeactivateResource d:
                world.PortalResources.RemoveAll(p => p.Id == c.Portal[d.Index].Client.Id);
                world.Client.RemoveResource(c.Portal[d.Index].Client.Id, world.Now);
                break;
            case DisableResources s:
                world.Client.SetDisabledResources(s.Indices.Select(i => c.Portal[i].Client.Id), world.Now);
                break;
            case SendToIp s:
                var source = s.Destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? TunnelWorld.TunnelV4 : TunnelWorld.TunnelV6;
                if (!s.FromTunnelIp)
                {
                    source = source.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? IPAddress.Parse("100.64.0.77") : IPAddress.Parse("fd00:2021:1111::77");
                }

                Send(world, s.Proto, source, s.Destination, s.Id1, s.Id2, s.Payload);
                break;
            case SendToName s:
                var ips = _answers.GetValueOrDefault((s.Name, s.IPv6));
                if (ips is null || ips.Count == 0)
                {
                    throw new InvalidOperationException($"the application never got an answer for {s.Name} ({(s.IPv6 ? "AAAA" : "A")})");
                }

                Send(world, s.Proto, s.IPv6 ? TunnelWorld.TunnelV6 : TunnelWorld.TunnelV4, ips[s.Pick % ips.Count], s.Id1, s.Id2, s.Payload);
                break;
            case QueryName { Tcp: true } q:
                _pendingQueries[q.QueryId] = (q.Name, q.Aaaa);
                QueryOverTcp(world, Dns.DnsTestMessages.Query(q.Name, q.Aaaa ? DnsRecordType.Aaaa : DnsRecordType.A, q.QueryId));
                break;
            case QueryName q:
                QueryOverUdp(world, q.Name, q.Aaaa, q.QueryId);
                break;
            case QueryKnownHost q:
                QueryOverUdp(world, q.Name, q.Aaaa, q.QueryId);
                break;
            case QueryGlobalName q:
                QueryOverUdp(world, q.Name, q.Aaaa, q.QueryId);
                break;
            case QueryPtr q:
                QueryPtrOverUdp(world, c, q);
                break;
            case QueryMx q:
                _pendingQueries[q.QueryId] = ("mx:" + q.Name, false);
                SendQuery(world, Dns.DnsTestMessages.Query(q.Name, DnsRecordType.Mx, q.QueryId));
                break;
            case SendToResolvedIp s:
                var answered = _answers.GetValueOrDefault((s.Name, s.IPv6));
                var recorded = c.GlobalRecords[s.Name].Where(a => (a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) == s.IPv6).ToList();
                if (answered is null || !answered.SequenceEqual(recorded))
                {
                    throw new InvalidOperationException($"the host's answer for {s.Name} did not reach the application intact");
                }

                Send(world, s.Proto, s.IPv6 ? TunnelWorld.TunnelV6 : TunnelWorld.TunnelV4, recorded[s.Pick % recorded.Count], s.Id1, s.Id2, s.Payload);
                break;
            case ReconnectPortal:
                world.ReconnectPortal();
                break;
            case DeployNewRelay:
                world.DeployNewRelay();
                break;
            case PartitionRelays { Reboot: true, NewAddresses: true }:
                world.RebootRelayOnNewAddressesWhilePartitioned(TimeSpan.FromSeconds(1));
                break;
            case PartitionRelays { Reboot: true }:
                world.RebootRelayWhilePartitioned(TimeSpan.FromSeconds(1));
                break;
            case PartitionRelays:
                world.PartitionRelaysFromPortal(TimeSpan.FromSeconds(1));
                break;
            case UpdateUpstreamDns u:
                world.SetPortalDnsServers([.. u.Servers.Distinct().Select(i => RefState.ServerPool[i])]);
                break;
            case UpdateSystemDns u:
                world.Client.UpdateSystemResolvers(u.Servers.Distinct().Select(i => RefState.ServerPool[i].Address).Distinct());
                world.Run(TimeSpan.Zero);
                break;
            case RoamClient roam:
                world.Roam(new IPEndPoint(IPAddress.Parse($"198.18.10.{roam.Host}"), 50000 + roam.Host), new IPEndPoint(IPAddress.Parse($"2001:2:0:10::{roam.Host:x}"), 50000 + roam.Host));
                break;
        }
    }

    private readonly Dictionary<ushort, (string Name, bool Aaaa)> _pendingQueries = [];
    private readonly Random _appRandom = new(1);
    private Firezone.Connlib.Tcp.TcpSocketSet? _app;
    private int _seenTcp;

    /// <summary>The client's first IPv4 sentinel, where the application sends its queries.</summary>
    private static System.Net.IPAddress Sentinel(TunnelWorld world) =>
        world.Client.TunConfig!.DnsServers.First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);

    /// <summary>An application's A/AAAA query over UDP; the answer is read in <see cref="Check"/>.</summary>
    private void QueryOverUdp(TunnelWorld world, string name, bool aaaa, ushort id)
    {
        _pendingQueries[id] = (name, aaaa);
        SendQuery(world, Dns.DnsTestMessages.Query(name, aaaa ? DnsRecordType.Aaaa : DnsRecordType.A, id));
    }

    /// <summary>An application's UDP DNS message from tunnel IP:9999 to the first IPv4 sentinel.</summary>
    private static void SendQuery(TunnelWorld world, byte[] query)
    {
        var packet = new byte[60 + query.Length];
        world.SendFromClient(packet[..PacketBuilder.Udp(packet, TunnelWorld.TunnelV4, Sentinel(world), 9999, 53, query)]);
    }

    /// <summary>
    /// An application's PTR query for the reverse name of an address: a proxy IP the application got for the name
    /// (expected answer: that name), a known host's address (expected: the last name in ordinal order listing it, §4.7),
    /// or an address nobody has (forwarded; the host answers NXDOMAIN, so no record is expected).
    /// </summary>
    private void QueryPtrOverUdp(TunnelWorld world, TunnelCase c, QueryPtr q)
    {
        IPAddress address;
        string? expected = null;
        switch (q.Target)
        {
            case PtrTarget.Proxy:
                var answered = _answers.GetValueOrDefault((q.Name, q.IPv6));
                if (answered is null || answered.Count == 0)
                {
                    throw new InvalidOperationException($"the application never got an answer for {q.Name} ({(q.IPv6 ? "AAAA" : "A")})");
                }

                address = answered[q.Pick % answered.Count];
                expected = q.Name;
                break;
            case PtrTarget.KnownHost:
                var ips = c.KnownHosts[q.Name];
                address = ips[q.Pick % ips.Count];
                expected = c.KnownHosts.Where(h => h.Value.Contains(address)).Select(h => h.Key).Max(StringComparer.Ordinal);
                break;
            default:
                address = q.IPv6 ? IPAddress.Parse($"2001:2:0:fe::{q.Pick:x}") : new IPAddress([198, 18, 254, (byte)q.Pick]);
                break;
        }

        _pendingQueries[q.QueryId] = ("ptr:" + address, false);
        _expectedPtr[q.QueryId] = (expected, q.Target);
        SendQuery(world, Dns.DnsTestMessages.Query(ReverseName(address), DnsRecordType.Ptr, q.QueryId));
    }

    /// <summary>The reverse-lookup name of an address (in-addr.arpa / ip6.arpa, RFC 1035 §3.5, RFC 3596 §2.5), written independently of the client's parser.</summary>
    private static string ReverseName(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        return bytes.Length == 4
            ? $"{bytes[3]}.{bytes[2]}.{bytes[1]}.{bytes[0]}.in-addr.arpa"
            : string.Join('.', bytes.Reverse().SelectMany(b => new[] { b & 0xF, b >> 4 }).Select(n => n.ToString("x", System.Globalization.CultureInfo.InvariantCulture))) + ".ip6.arpa";
    }

    private readonly Dictionary<ushort, (string? Name, PtrTarget Target)> _expectedPtr = [];
    private IReadOnlyList<string> _log = [];
    private readonly SortedDictionary<PtrTarget, int> _ptrAnswers = [];
    private int _truncatedAnswers;
    private int _mxAnswers;

    /// <summary>
    /// The application's own TCP connection to the sentinel (our TCP engine as the application's stack): connect, send
    /// the framed query, read the framed answer, close. Runs the world meanwhile (at most 5 simulated seconds).
    /// </summary>
    private void QueryOverTcp(TunnelWorld world, byte[] query)
    {
        _app ??= new Firezone.Connlib.Tcp.TcpSocketSet(new Firezone.Connlib.Tcp.TcpOptions(), b => _appRandom.NextBytes(b));
        var sentinel = Sentinel(world);
        var h = _app.Connect(Firezone.Connlib.Tcp.TcpEndpoint.From(TunnelWorld.TunnelV4, 0), Firezone.Connlib.Tcp.TcpEndpoint.From(sentinel, 53), world.Now)
            ?? throw new InvalidOperationException("the application's TCP stack refused to connect");
        var framed = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        var buffer = new byte[4096];
        var received = new List<byte>();
        bool sent = false;
        var end = world.Now + TimeSpan.FromSeconds(5);
        while (world.Now < end)
        {
            int n;
            while ((n = _app.PollTransmit(buffer)) > 0)
            {
                world.SendFromClient(buffer[..n]);
            }

            for (; _seenTcp < world.ClientTun.Count; _seenTcp++)
            {
                if (IpPacket.TryParse(world.ClientTun[_seenTcp], out var ip) == IpParseError.None && ip.TryGetTcp(out _) && DnsRanges.IsSentinel(ip.Source))
                {
                    _app.HandleInput(world.ClientTun[_seenTcp], world.Now);
                }
            }

            if (!sent && _app.GetState(h) == Firezone.Connlib.Tcp.TcpState.Established)
            {
                sent = _app.Send(h, framed, out _) == Firezone.Connlib.Tcp.TcpResult.Ok;
            }

            while (_app.Receive(h, buffer, out int got) == Firezone.Connlib.Tcp.TcpResult.Ok && got > 0)
            {
                received.AddRange(buffer.AsSpan(0, got));
            }

            if (received.Count >= 2 && received.Count >= 2 + BinaryPrimitives.ReadUInt16BigEndian(received.ToArray()))
            {
                RecordAnswer(received.Skip(2).Take(BinaryPrimitives.ReadUInt16BigEndian(received.ToArray())).ToArray());
                // The application is done with the connection: it resets it (as a resolver that does not keep TCP
                // connections open may). A graceful close would leave it in FIN-WAIT while our TCP DNS server keeps its
                // side open (RFC 7766), and a FIN retransmitted after a later DNS server change goes to a former
                // sentinel — then an ordinary address that the enabled internet resource routes (as upstream) —
                // connecting it behind the model's back (seed 1538505540).
                _app.Abort(h);
                int n2;
                while ((n2 = _app.PollTransmit(buffer)) > 0)
                {
                    world.SendFromClient(buffer[..n2]);
                }

                world.Run(TimeSpan.FromMilliseconds(50));
                return;
            }

            world.Run(TimeSpan.FromMilliseconds(20));
            _app.HandleTimeout(world.Now);
        }
    }

    /// <summary>A DNS answer the application read: counted by id, its addresses remembered for the name.</summary>
    private string? RecordAnswer(byte[] payload)
    {
        var message = Dns.DnsTestMessages.Parse(payload);
        if (!_pendingQueries.TryGetValue(message.TransactionID, out var q))
        {
            return $"an unexpected DNS answer (id {message.TransactionID})";
        }

        _dnsAnswers[message.TransactionID] = _dnsAnswers.GetValueOrDefault(message.TransactionID) + 1;
        if (q.Name.StartsWith("mx:", StringComparison.Ordinal))
        {
            // Forwarded MX: the resolvers know no MX records, so the answer carries none (NOERROR or NXDOMAIN).
            if (message.AnswerRecords.Count != 0)
            {
                return $"the MX query for {q.Name[3..]} was answered with {message.AnswerRecords.Count} records";
            }

            _mxAnswers++;
            return null;
        }

        if (RefState.IsOversized(q.Name))
        {
            // §11.9 (and our deliberate fix): an answer that does not fit is truncated, header and question kept.
            if (!message.IsTruncated || message.AnswerRecords.Count != 0 || message.Questions.Count != 1)
            {
                return $"the oversized answer for {q.Name} reached the application with TC={message.IsTruncated}, {message.AnswerRecords.Count} records";
            }

            _truncatedAnswers++;
            return null;
        }

        if (_expectedPtr.Remove(message.TransactionID, out var ptr))
        {
            var expectedName = ptr.Name;
            _ptrAnswers[ptr.Target] = _ptrAnswers.GetValueOrDefault(ptr.Target) + 1;
            var targets = message.AnswerRecords.OfType<Ar.PtrRecord>().Select(r => r.PointerDomainName.ToString().TrimEnd('.')).ToList();
            bool ok = expectedName is null ? targets.Count == 0 : targets.Count == 1 && string.Equals(targets[0], expectedName, StringComparison.OrdinalIgnoreCase);
            return ok ? null : $"PTR query {message.TransactionID} answered [{string.Join(",", targets)}], expected [{expectedName}]";
        }

        _answers[(q.Name, q.Aaaa)] = [.. message.AnswerRecords.Select(a => a switch { Ar.ARecord r => r.Address, Ar.AaaaRecord r => r.Address, _ => null }).OfType<IPAddress>()];
        return null;
    }
    private readonly Dictionary<ushort, int> _dnsAnswers = [];
    private readonly Dictionary<ulong, int> _replies = [];

    private void Send(TunnelWorld world, Proto proto, IPAddress source, IPAddress destination, ushort id1, ushort id2, ulong payload)
    {
        var body = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(body, payload);
        var p = new byte[100];
        int n = proto switch
        {
            Proto.Icmp => PacketBuilder.EchoRequest(p, source, destination, id1, id2, body),
            Proto.Udp => PacketBuilder.Udp(p, source, destination, id1, id2, body),
            _ => PacketBuilder.Tcp(p, source, destination, id1, id2, body),
        };
        _sent[payload] = (source, destination, id1, id2);
        world.SendFromClient(p[..n]);
    }

    /// <summary>
    /// The DNS servers of <see cref="RefState.ServerPool"/> as seen behind a gateway: a UDP query to one of their
    /// sockets is answered like the host's resolver answers (the client forwards to the server's own port; upstream keeps
    /// port 53, §11.8, a bug we fix); anything else is left to the resources' echo (null).
    /// </summary>
    private static IEnumerable<byte[]>? DnsServerBehindGateway(byte[] packet, IReadOnlyDictionary<string, IPAddress[]> records)
    {
        if (IpPacket.TryParse(packet, out var ip) != IpParseError.None || !ip.TryGetUdp(out var udp))
        {
            return null;
        }

        var destination = new IPEndPoint(ip.Destination, udp.DestinationPort);
        if (!RefState.ServerPool.Contains(destination) || HostAnswer(udp.Payload, records) is not { } answer)
        {
            return null;
        }

        if (answer.Length > 512)
        {
            // A real server truncates a UDP answer to a query without EDNS at 512 bytes (RFC 1035 §4.2.1): TC, question only.
            int questionEnd = 12 + Dns.DnsTestMessages.Name(Dns.DnsTestMessages.Parse(answer).Questions[0].Name.ToString().TrimEnd('.')).Length + 4;
            answer = answer[..questionEnd];
            answer[2] |= 0x02;
            answer[6] = answer[7] = 0;
        }

        var reply = new byte[60 + answer.Length];
        return [reply[..PacketBuilder.Udp(reply, ip.Destination, ip.Source, udp.DestinationPort, udp.SourcePort, answer)]];
    }

    /// <summary>The host's resolver: NOERROR with the A or AAAA records of the name (TTL 1 day), NXDOMAIN for unknown names.</summary>
    private static byte[]? HostAnswer(ReadOnlySpan<byte> query, IReadOnlyDictionary<string, IPAddress[]> records)
    {
        var message = Dns.DnsTestMessages.Parse(query);
        var question = message.Questions[0];
        string name = question.Name.ToString().TrimEnd('.');
        bool aaaa = question.RecordType == Ar.RecordType.Aaaa;
        bool addresses = aaaa || question.RecordType == Ar.RecordType.A; // other types: no records
        int questionEnd = 12 + Dns.DnsTestMessages.Name(name).Length + 4;
        var response = new List<byte>(query[..questionEnd].ToArray());
        response[2] = (byte)(0x80 | (query[2] & 0x79)); // QR, opcode, RD copied
        response[3] = (byte)(records.ContainsKey(name) ? 0x80 : 0x83); // RA; NOERROR or NXDOMAIN
        var answers = (addresses ? records.GetValueOrDefault(name) : null)?.Where(a => (a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) == aaaa).ToList() ?? [];
        response[6] = 0;
        response[7] = (byte)answers.Count;
        foreach (var a in answers)
        {
            var bytes = a.GetAddressBytes();
            response.AddRange([0xC0, 0x0C, 0, (byte)(aaaa ? 28 : 1), 0, 1, 0, 1, 0x51, 0x80, 0, (byte)bytes.Length]);
            response.AddRange(bytes);
        }

        return [.. response];
    }

    /// <summary>The 8-byte payload of a generated packet (ICMP echo body, UDP or TCP payload), if it has one.</summary>
    private static ulong? PayloadOf(IpPacket ip)
    {
        Span<byte> data = default;
        if (ip.TryGetIcmp(out var icmp) && icmp.IsEcho)
        {
            data = icmp.Body;
        }
        else if (ip.TryGetUdp(out var udp))
        {
            data = udp.Payload;
        }
        else if (ip.TryGetTcp(out var tcp))
        {
            data = tcp.Payload;
        }

        return data.Length == 8 ? BinaryPrimitives.ReadUInt64BigEndian(data) : null;
    }

    /// <summary>§9.8's invariants, after every step.</summary>
    private string? Check(TunnelWorld world, RefState model)
    {
        if (world.Log.ErrorCount > 0)
        {
            return "an error was logged:\n" + world.Log;
        }

        // What the client's TUN device received since the last step: DNS answers and replies.
        for (; _seenTun < world.ClientTun.Count; _seenTun++)
        {
            var bytes = world.ClientTun[_seenTun];
            if (IpPacket.TryParse(bytes, out var ip) != IpParseError.None)
            {
                return "the client's TUN got an invalid packet";
            }

            if (ip.TryGetTcp(out _) && DnsRanges.IsSentinel(ip.Source))
            {
                continue; // the application's TCP connection to a sentinel (read by QueryOverTcp)
            }

            if (ip.TryGetUdp(out var udp) && udp.SourcePort == 53 && world.Client.TunConfig!.DnsBySentinel.ContainsKey(ip.Source))
            {
                if (RecordAnswer(udp.Payload.ToArray()) is { } unexpected)
                {
                    return unexpected;
                }

                continue;
            }

            if (ip.TryGetIcmp(out var error) && error.IsError)
            {
                // Refused traffic is answered with ICMP administratively prohibited (deliberate difference from upstream).
                bool prohibited = ip.IsIpv4 ? error.Type == 3 && error.Code == 13 : error.Type == 1 && error.Code == 1;
                var quoted = error.Body.ToArray();
                if (prohibited && IpPacket.TryParse(quoted, out var leftover) == IpParseError.None && leftover.TryGetTcp(out _) && DnsRanges.IsSentinel(leftover.Destination))
                {
                    // The application's TCP stack still talking to a sentinel the mapping no longer has: that address is
                    // then ordinary traffic (§11.15) and the proxy range is refused even under the internet resource (§11.16).
                    continue;
                }

                if (!prohibited || IpPacket.TryParse(quoted, out var inner) != IpParseError.None || PayloadOf(inner) is not { } refused
                    || !(model.Refused.Contains(refused) || model.Tolerated.Contains(refused)))
                {
                    return $"the client received an ICMP error for nothing the gateway had to refuse: {ip.ToString()}";
                }

                continue;
            }

            if (PayloadOf(ip) is { } toleratedReply && model.Tolerated.Contains(toleratedReply))
            {
                _replies[toleratedReply] = _replies.GetValueOrDefault(toleratedReply) + 1;
                if (_replies[toleratedReply] > 1)
                {
                    return $"the reply to {toleratedReply:x16} arrived twice";
                }

                continue;
            }

            if (PayloadOf(ip) is not { } payload || !model.Expected.Any(e => e.Payload == payload))
            {
                return $"the client received a packet no exchange expects: {ip.ToString()}";
            }

            var (source, destination, id1, id2) = _sent[payload];
            if (!ip.Source.Equals(destination) || !ip.Destination.Equals(source))
            {
                return $"the reply to {payload:x16} came from {ip.Source} to {ip.Destination}, the request went from {source} to {destination}";
            }

            bool idsOk = ip.TryGetIcmp(out var echo) ? echo.Identifier == id1 && echo.Sequence == id2
                : ip.TryGetUdp(out var u) ? u.SourcePort == id2 && u.DestinationPort == id1
                : ip.TryGetTcp(out var tcp) && tcp.SourcePort == id2 && tcp.DestinationPort == id1;
            if (!idsOk)
            {
                return $"the reply to {payload:x16} does not carry the request's identifiers/ports swapped: {ip.ToString()}";
            }

            _replies[payload] = _replies.GetValueOrDefault(payload) + 1;
        }

        // The resource side: every generated packet that left the gateway was expected, once, with the right addresses.
        var atResources = new Dictionary<ulong, int>();
        foreach (var (site, bytes) in world.Gateways.SelectMany(g => g.AtResources.Select(b => (g.Index, b))))
        {
            if (IpPacket.TryParse(bytes, out var ip) != IpParseError.None || PayloadOf(ip) is not { } payload)
            {
                continue;
            }

            if (model.Tolerated.Contains(payload))
            {
                atResources[payload] = atResources.GetValueOrDefault(payload) + 1;
                if (atResources[payload] > 1)
                {
                    return $"{payload:x16} reached its resource twice";
                }

                continue;
            }

            var expected = model.Expected.FirstOrDefault(e => e.Payload == payload);
            if (expected is null)
            {
                return $"gateway {site} forwarded a packet no exchange expects: {ip.ToString()}";
            }

            if (expected.Site != site)
            {
                return $"{payload:x16} went through gateway {site}, its resource is served by gateway {expected.Site}";
            }

            atResources[payload] = atResources.GetValueOrDefault(payload) + 1;
            var tunnelIp = ip.IsIpv4 ? TunnelWorld.TunnelV4 : TunnelWorld.TunnelV6;
            if (!ip.Source.Equals(tunnelIp))
            {
                return $"a request reached the resource from {ip.Source}, not the client's tunnel IP {tunnelIp}";
            }

            bool destinationOk = expected.Name is null
                ? ip.Destination.Equals(expected.Destination)
                : model.OwnerOf(expected.Name).Records[expected.Name].Contains(ip.Destination);
            if (!destinationOk)
            {
                return $"{payload:x16} reached {ip.Destination}, expected {expected.Destination?.ToString() ?? string.Join("/", model.OwnerOf(expected.Name!).Records[expected.Name!].Select(a => a.ToString()))}";
            }
        }

        foreach (var e in model.Expected)
        {
            if (atResources.GetValueOrDefault(e.Payload) != 1)
            {
                return $"expected {e} to reach its resource once, it did {atResources.GetValueOrDefault(e.Payload)} times";
            }

            if (_replies.GetValueOrDefault(e.Payload) != 1)
            {
                return $"expected the reply of {e} once at the client, it came {_replies.GetValueOrDefault(e.Payload)} times";
            }
        }

        foreach (var id in model.ExpectedDns)
        {
            if (_dnsAnswers.GetValueOrDefault(id) != 1)
            {
                return $"DNS query {id} was answered {_dnsAnswers.GetValueOrDefault(id)} times";
            }
        }

        // Known hosts: every answer for one carries exactly its configured addresses of the asked family (§9.8).
        foreach (var (name, ips) in model.KnownHosts)
        {
            foreach (bool aaaa in new[] { false, true })
            {
                if (_answers.TryGetValue((name, aaaa), out var answered))
                {
                    var configured = ips.Where(a => (a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) == aaaa).Select(a => a.ToString()).Order(StringComparer.Ordinal);
                    if (!answered.Select(a => a.ToString()).Order(StringComparer.Ordinal).SequenceEqual(configured))
                    {
                        return $"known host {name} answered {string.Join(",", answered)}, configured {string.Join(",", ips)}";
                    }
                }
            }
        }

        var (v4, v6) = model.ExpectedRoutes();
        var config = world.Client.TunConfig!;
        var actual4 = config.IPv4Routes.Select(r => r.ToString()).Order(StringComparer.Ordinal).ToList();
        var actual6 = config.IPv6Routes.Select(r => r.ToString()).Order(StringComparer.Ordinal).ToList();
        if (!actual4.SequenceEqual(v4) || !actual6.SequenceEqual(v6))
        {
            return $"routes {string.Join(",", actual4)} | {string.Join(",", actual6)}; expected {string.Join(",", v4)} | {string.Join(",", v6)}";
        }

        var servers = config.DnsBySentinel.Values.Select(e => e.ToString()).Order(StringComparer.Ordinal).ToList();
        var expectedServers = model.ExpectedServers.Select(e => e.ToString()).Distinct().Order(StringComparer.Ordinal).ToList();
        if (!servers.SequenceEqual(expectedServers))
        {
            return $"DNS servers {string.Join(",", servers)}, expected {string.Join(",", expectedServers)}";
        }

        Coverage.Clear();
        foreach (var e in model.Expected)
        {
            Coverage[e.Branch] = Coverage.GetValueOrDefault(e.Branch) + 1;
        }

        if (_mxAnswers > 0)
        {
            Coverage["dns MX forwarded"] = _mxAnswers;
        }

        if (_truncatedAnswers > 0)
        {
            Coverage["dns oversized answer truncated"] = _truncatedAnswers;
        }

        if (model.ForwardedThroughTunnel > 0)
        {
            Coverage["dns forwarded through the tunnel"] = model.ForwardedThroughTunnel;
        }

        if (model.FirstV4Server is { } firstServer && config.DnsBySentinel.GetValueOrDefault(Sentinel(world)) is var behind && !firstServer.Equals(behind))
        {
            return $"the first IPv4 sentinel {Sentinel(world)} leads to {behind}, expected the first IPv4 server {firstServer}";
        }

        foreach (var (target, n) in _ptrAnswers)
        {
            Coverage[target switch { PtrTarget.Proxy => "dns PTR of a proxy IP", PtrTarget.KnownHost => "dns PTR of a known host's address", _ => "dns PTR of another IP (forwarded)" }] = n;
        }

        if (model.Refused.Count > 0)
        {
            Coverage["refused by gateway filters"] = model.Refused.Count;
        }

        return null;
    }
}
