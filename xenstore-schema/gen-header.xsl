<?xml version="1.0" encoding="UTF-8"?>
<!-- gen-header.xsl - turns protocol.xml into the C header of protocol constants shared by
     the toolstack (build/gen/xlcp_xs_proto.h) and the guest module (a committed copy in
     guest-kernel/xlcp_xs_proto.h, checked for staleness by tests/unit/test_xs_check.c).
     Only #defines: valid in user space and in the kernel.
     Usage: xsltproc gen-header.xsl protocol.xml > xlcp_xs_proto.h -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text" encoding="UTF-8"/>
  <xsl:variable name="lc" select="'abcdefghijklmnopqrstuvwxyz-'"/>
  <xsl:variable name="uc" select="'ABCDEFGHIJKLMNOPQRSTUVWXYZ_'"/>

  <xsl:template name="macro">
    <xsl:param name="s"/>
    <xsl:value-of select="translate($s, $lc, $uc)"/>
  </xsl:template>

  <xsl:template match="/protocol">
    <xsl:text>/*
 * xlcp_xs_proto.h - constants of the xl-checkpoint xenstore protocol.
 * Generated from xenstore-schema/protocol.xml by xenstore-schema/gen-header.xsl.
 * Do not edit: change protocol.xml and regenerate. Paths are relative to
 * /local/domain/&lt;domid&gt;/. Per node: XLCP_XS_PATH_x (full relative path), _DIR_x and
 * _NODE_x (for xenbus_read(t, dir, node)), _MAX_x (value length in bytes, without NUL).
 */
#ifndef XLCP_XS_PROTO_H
#define XLCP_XS_PROTO_H

</xsl:text>
    <xsl:text>#define XLCP_XS_PROTOCOL </xsl:text><xsl:value-of select="@version"/>
    <xsl:text>&#10;#define XLCP_XS_PROTOCOL_OLDEST </xsl:text><xsl:value-of select="@oldest"/>
    <xsl:text>&#10;#define XLCP_XS_DIR "</xsl:text><xsl:value-of select="@dir"/><xsl:text>"&#10;&#10;</xsl:text>
    <xsl:for-each select="grammar">
      <xsl:text>#define XLCP_XS_MAX_</xsl:text>
      <xsl:call-template name="macro"><xsl:with-param name="s" select="@name"/></xsl:call-template>
      <xsl:text> </xsl:text><xsl:value-of select="@max"/><xsl:text>&#10;</xsl:text>
    </xsl:for-each>
    <xsl:for-each select="node">
      <xsl:variable name="m">
        <xsl:call-template name="macro"><xsl:with-param name="s" select="@name"/></xsl:call-template>
      </xsl:variable>
      <xsl:text>&#10;/* </xsl:text><xsl:value-of select="@path"/><xsl:text> (written by </xsl:text>
      <xsl:value-of select="@writer"/><xsl:text>) */&#10;</xsl:text>
      <xsl:text>#define XLCP_XS_PATH_</xsl:text><xsl:value-of select="$m"/><xsl:text> "</xsl:text>
      <xsl:value-of select="@path"/><xsl:text>"&#10;</xsl:text>
      <xsl:text>#define XLCP_XS_DIR_</xsl:text><xsl:value-of select="$m"/><xsl:text> "</xsl:text>
      <xsl:value-of select="substring(@path, 1, string-length(@path) - string-length(@name) - 1)"/>
      <xsl:text>"&#10;</xsl:text>
      <xsl:text>#define XLCP_XS_NODE_</xsl:text><xsl:value-of select="$m"/><xsl:text> "</xsl:text>
      <xsl:value-of select="@name"/><xsl:text>"&#10;</xsl:text>
      <xsl:text>#define XLCP_XS_MAX_</xsl:text><xsl:value-of select="$m"/><xsl:text> </xsl:text>
      <xsl:value-of select="@max"/><xsl:text>&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>&#10;/* capability tokens */&#10;</xsl:text>
    <xsl:for-each select="capabilities/token">
      <xsl:text>#define XLCP_XS_CAP_</xsl:text>
      <xsl:call-template name="macro"><xsl:with-param name="s" select="@name"/></xsl:call-template>
      <xsl:text> "</xsl:text><xsl:value-of select="@name"/><xsl:text>"&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>&#10;/* request verbs */&#10;</xsl:text>
    <xsl:for-each select="requests/verb">
      <xsl:text>#define XLCP_XS_REQ_</xsl:text>
      <xsl:call-template name="macro"><xsl:with-param name="s" select="@name"/></xsl:call-template>
      <xsl:text> "</xsl:text><xsl:value-of select="@name"/><xsl:text>"&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>&#10;/* states */&#10;</xsl:text>
    <xsl:for-each select="states/state">
      <xsl:text>#define XLCP_XS_STATE_</xsl:text>
      <xsl:call-template name="macro"><xsl:with-param name="s" select="@name"/></xsl:call-template>
      <xsl:text> "</xsl:text><xsl:value-of select="@name"/><xsl:text>"&#10;</xsl:text>
    </xsl:for-each>
    <xsl:text>&#10;/* the id written in an error state when the request had no readable id */&#10;</xsl:text>
    <xsl:text>#define XLCP_XS_NO_ID "-"&#10;</xsl:text>
    <xsl:text>&#10;#endif&#10;</xsl:text>
  </xsl:template>
</xsl:stylesheet>
