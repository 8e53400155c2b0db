namespace Firezone.Snownet.Stun;

/// <summary>Why a datagram was not accepted as a STUN message.</summary>
internal enum StunParseError : byte
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>Fewer than 20 bytes.</summary>
    TooShort,

    /// <summary>The two most significant bits of the first byte are not zero.</summary>
    NotStun,

    /// <summary>The magic cookie is not 0x2112A442.</summary>
    BadMagicCookie,

    /// <summary>The datagram length differs from 20 + the declared message length (truncated or trailing bytes).</summary>
    LengthMismatch,

    /// <summary>An attribute header or value runs past the end of the message.</summary>
    AttributeOverrun,

    /// <summary>A known attribute has an invalid length or value (e.g. unknown address family, channel out of range, bad UTF-8).</summary>
    InvalidAttribute,
}
