namespace Firezone.Connlib.Dns;

/// <summary>What the stub resolver decided for one query (upstream's <c>ResolveStrategy</c>, plus the cases it leaves to its caller).</summary>
internal enum DnsResolutionKind
{
    /// <summary>The message is not even a DNS header: nothing can be answered (the caller drops the packet).</summary>
    Drop,

    /// <summary>A response was written to the caller's buffer (an answer, an empty NOERROR, NXDOMAIN or SERVFAIL).</summary>
    LocalAnswer,

    /// <summary>Not ours to answer: the caller forwards the query, unchanged, to the upstream server (tunnel spec §4.7, forwarding).</summary>
    Recurse,
}

/// <summary>
/// The stub resolver's result for one query: a value, never an exception. For <see cref="DnsResolutionKind.LocalAnswer"/>
/// the response is the first <see cref="ResponseLength"/> bytes of the caller's buffer; for
/// <see cref="DnsResolutionKind.Recurse"/> the caller forwards its query bytes and keys the pending query by
/// (server, <see cref="QueryId"/>).
/// </summary>
/// <param name="Kind">What to do.</param>
/// <param name="ResponseLength">The length of the response written (local answers only, else 0).</param>
/// <param name="QueryId">The query's id (0 for <see cref="DnsResolutionKind.Drop"/>).</param>
/// <param name="QueryType">The type of the query's question (0 when it has none).</param>
internal readonly record struct DnsResolution(DnsResolutionKind Kind, int ResponseLength, ushort QueryId, DnsRecordType QueryType)
{
    /// <summary>Nothing to answer.</summary>
    public static DnsResolution Drop => default;
}
