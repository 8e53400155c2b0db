namespace Firezone.Snownet.Ice;

/// <summary>Which Binding message a connectivity check is.</summary>
internal enum CheckMessageKind
{
    /// <summary>Binding request.</summary>
    Request,

    /// <summary>Binding success response.</summary>
    Success,

    /// <summary>Binding error response.</summary>
    Error,
}
