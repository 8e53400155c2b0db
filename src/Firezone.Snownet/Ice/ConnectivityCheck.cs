using Firezone.Snownet.Stun;
using System.Net;

namespace Firezone.Snownet.Ice;

/// <summary>
/// The ICE-relevant content of a STUN Binding message (RFC 8445 §7.1–§7.3): what the agent reads from and writes into
/// checks. Encoding and integrity live in <see cref="IConnectivityCheckCodec"/>. Decoding refers to the datagram by
/// offsets (<see cref="UsernameRange"/>, <see cref="IntegrityOffset"/>) so that nothing is copied or allocated.
/// </summary>
internal struct ConnectivityCheck
{
    /// <summary>
    /// Largest encoded check: header, a USERNAME of two 256-character ufrags, ICE-CONTROLLING, PRIORITY,
    /// USE-CANDIDATE, MESSAGE-INTEGRITY and FINGERPRINT fit.
    /// </summary>
    public const int MaxEncodedLength = 640;

    /// <summary>
    /// An upper bound of the encoded length of this check: header, MESSAGE-INTEGRITY and FINGERPRINT (52 bytes),
    /// plus USERNAME (padded), ICE-CONTROLLING/ICE-CONTROLLED, PRIORITY and USE-CANDIDATE for requests, or an
    /// XOR-MAPPED-ADDRESS or an ERROR-CODE with its reason (at most 132 bytes) for responses.
    /// </summary>
    public readonly int EncodedLengthBound => 52 + (Kind == CheckMessageKind.Request ? 4 + ((Username.Length + 3) & ~3) + 12 + 8 + 4 : 136);

    /// <summary>Request, success or error.</summary>
    public CheckMessageKind Kind;

    /// <summary>Transaction id.</summary>
    public TransactionId TransactionId;

    /// <summary>USERNAME (UTF-8 <c>receiver-ufrag:sender-ufrag</c>) of requests to encode.</summary>
    public ReadOnlyMemory<byte> Username;

    /// <summary>Where the USERNAME value of a decoded request sits in its datagram.</summary>
    public Range UsernameRange;

    /// <summary>Offset of the MESSAGE-INTEGRITY attribute in the decoded datagram.</summary>
    public int IntegrityOffset;

    /// <summary>PRIORITY of requests (0 when absent).</summary>
    public uint Priority;

    /// <summary>True when ICE-CONTROLLING is present, false for ICE-CONTROLLED, null for neither.</summary>
    public bool? Controlling;

    /// <summary>Tie-breaker of ICE-CONTROLLING/ICE-CONTROLLED.</summary>
    public ulong TieBreaker;

    /// <summary>USE-CANDIDATE present.</summary>
    public bool UseCandidate;

    /// <summary>XOR-MAPPED-ADDRESS of success responses.</summary>
    public IPEndPoint? MappedAddress;

    /// <summary>ERROR-CODE of error responses (e.g. 487 role conflict).</summary>
    public int ErrorCode;
}
