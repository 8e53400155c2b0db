using System.Net;

namespace Firezone.Connlib.Client;

/// <summary>How a recursive DNS query reached the client and how its answer goes back.</summary>
public enum DnsTransport
{
    /// <summary>A UDP query; the answer leaves as one UDP datagram (truncated with TC when too long).</summary>
    Udp,

    /// <summary>A query on a TCP connection to a sentinel; the answer goes back on that connection.</summary>
    Tcp,
}

/// <summary>Why a recursive DNS query produced no answer (<see cref="ClientState.HandleDnsFailure"/>).</summary>
public enum DnsQueryFailure
{
    /// <summary>The server did not answer in time: for UDP nothing is sent back (the application retries); for TCP the application gets SERVFAIL.</summary>
    Timeout,

    /// <summary>Any other failure (unreachable, refused, socket error): the application gets SERVFAIL.</summary>
    Failed,
}

/// <summary>
/// A DNS query the client cannot answer itself and does not forward through the tunnel (tunnel spec §4.7,
/// "Forwarding"): the host sends <see cref="Message"/> to <see cref="Server"/> with its own sockets (upstream: 5 s
/// timeout, at most 1,000 in flight) and hands the result back with <see cref="ClientState.HandleDnsResponse"/> or
/// <see cref="ClientState.HandleDnsFailure"/>. Drained with <see cref="ClientState.PollDnsQuery"/>.
/// </summary>
public sealed class DnsQuery
{
    internal DnsQuery(IPEndPoint server, ReadOnlyMemory<byte> message, DnsTransport transport, IPEndPoint sentinel, IPEndPoint client, object? tcpHandle)
    {
        Server = server;
        Message = message;
        Transport = transport;
        Sentinel = sentinel;
        Client = client;
        TcpHandle = tcpHandle;
    }

    /// <summary>The upstream resolver to ask (the server the sentinel stands for).</summary>
    public IPEndPoint Server { get; }

    /// <summary>The DNS message exactly as the application sent it (without TCP's length prefix).</summary>
    public ReadOnlyMemory<byte> Message { get; }

    /// <summary>How the application asked; the host may use UDP or TCP towards the server regardless.</summary>
    public DnsTransport Transport { get; }

    /// <summary>The sentinel address and port 53 the application sent the query to (the answer comes from there).</summary>
    public IPEndPoint Sentinel { get; }

    /// <summary>The application's address and port (the answer goes there).</summary>
    public IPEndPoint Client { get; }

    internal object? TcpHandle { get; }

    /// <inheritdoc/>
    public override string ToString() => $"DNS query {Transport} {Client} → {Sentinel} ({Server})";
}
